package supervisor

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/corral-metrics/corral/supervisor/usage"
)

// usageMaxAge is how old the figures of a scrape may be: scrapes closer
// together than this read /proc once.
const usageMaxAge = time.Second

// usageCollector serves what each process costs, read from /proc on
// scrape, for every pid of its process group, through the supervisor's
// Meter (at most once per usageMaxAge).
type usageCollector struct {
	s                                               *Supervisor
	cpu, resident, fds, threads, readBytes, written *prometheus.Desc
}

func newUsageCollector(s *Supervisor) *usageCollector {
	label := []string{"process"}
	return &usageCollector{
		s:         s,
		cpu:       prometheus.NewDesc("corral_process_cpu_seconds_total", "User and system CPU time of the process and its children (its process group), over its restarts.", label, nil),
		resident:  prometheus.NewDesc("corral_process_resident_memory_bytes", "Resident memory of the process and its children (its process group).", label, nil),
		fds:       prometheus.NewDesc("corral_process_open_fds", "Open file descriptors of the process and its children (its process group).", label, nil),
		threads:   prometheus.NewDesc("corral_process_threads", "Threads of the process and its children (its process group).", label, nil),
		readBytes: prometheus.NewDesc("corral_process_read_bytes", "Bytes the live members of the process group read from storage, where the kernel gives them.", label, nil),
		written:   prometheus.NewDesc("corral_process_written_bytes", "Bytes the live members of the process group wrote to storage, where the kernel gives them.", label, nil),
	}
}

func (c *usageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.cpu, c.resident, c.fds, c.threads, c.readBytes, c.written} {
		ch <- d
	}
}

func (c *usageCollector) Collect(ch chan<- prometheus.Metric) {
	figures, err := c.s.Usage()
	if err != nil {
		c.s.logger.Warn("cannot read process usage", "err", err)
		return
	}
	for name, u := range figures {
		ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.CounterValue, u.CPUSeconds, name)
		ch <- prometheus.MustNewConstMetric(c.resident, prometheus.GaugeValue, float64(u.ResidentBytes), name)
		ch <- prometheus.MustNewConstMetric(c.fds, prometheus.GaugeValue, float64(u.OpenFDs), name)
		ch <- prometheus.MustNewConstMetric(c.threads, prometheus.GaugeValue, float64(u.Threads), name)
		if u.IOKnown {
			// Gauges: they drop when a member exits, so not counters.
			ch <- prometheus.MustNewConstMetric(c.readBytes, prometheus.GaugeValue, float64(u.ReadBytes), name)
			ch <- prometheus.MustNewConstMetric(c.written, prometheus.GaugeValue, float64(u.WriteBytes), name)
		}
	}
}

// Usage is what each process (the main one too) costs now, by name, from
// a snapshot at most a second old. A process that does not run reads as
// zero, but for its CPU seconds, a counter over its restarts.
func (s *Supervisor) Usage() (map[string]usage.Usage, error) {
	groups := make(map[string]int)
	for _, st := range s.Status() {
		pgid := -1 // no process has this group: nothing runs
		if st.PID != 0 {
			pgid = st.PID // the leader of its own group
		}
		groups[st.Name] = pgid
	}
	return s.meter.Read(groups, time.Now())
}
