// Package usage reads what process groups cost from /proc: CPU time,
// resident memory, open files, threads and I/O, summed over every live
// process of each group, so a process's figures include the children it
// started. It imports nothing of the supervisor's.
package usage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat. The kernel fixes
// it at 100 for user space on every architecture Linux supports.
const userHZ = 100

// Usage is what one process group costs now.
type Usage struct {
	Processes int // live processes in the group
	// CPUSeconds is user plus system time of the live processes and of
	// the children they have reaped. It drops when a member exits and is
	// reaped outside the group; see Meter for a counter that does not.
	CPUSeconds    float64
	ResidentBytes uint64
	OpenFDs       int
	Threads       int
	// ReadBytes and WriteBytes are storage I/O from /proc/PID/io; IOKnown
	// is false when the kernel did not give them for every member (no
	// task I/O accounting, or another user's process).
	ReadBytes, WriteBytes uint64
	IOKnown               bool
}

// Reader reads usage from a proc file system.
type Reader struct {
	root string
	page uint64
}

// NewReader reads from root, normally "/proc".
func NewReader(root string) *Reader {
	return &Reader{root: root, page: uint64(os.Getpagesize())}
}

// Groups reads the usage of each process group in pgids in one pass over
// root. A group with no live process is absent from the result. Processes
// that exit during the pass are skipped.
func (r *Reader) Groups(pgids []int) (map[int]Usage, error) {
	want := make(map[int]bool, len(pgids))
	for _, g := range pgids {
		want[g] = true
	}
	d, err := os.Open(r.root)
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	out := make(map[int]Usage, len(pgids))
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		dir := filepath.Join(r.root, name)
		st, err := readStat(dir)
		if err != nil || !want[st.pgid] {
			continue
		}
		u, ok := out[st.pgid]
		if !ok {
			u.IOKnown = true
		}
		u.Processes++
		u.CPUSeconds += float64(st.ticks) / userHZ
		u.ResidentBytes += st.rssPages * r.page
		u.Threads += st.threads
		u.OpenFDs += countDir(filepath.Join(dir, "fd"))
		if rd, wr, err := readIO(dir); err == nil {
			u.ReadBytes += rd
			u.WriteBytes += wr
		} else {
			u.IOKnown = false
		}
		out[st.pgid] = u
	}
	return out, nil
}

type stat struct {
	pgid     int
	ticks    uint64 // utime + stime + cutime + cstime
	threads  int
	rssPages uint64
}

var errStat = errors.New("usage: malformed stat")

// readStat parses DIR/stat. The command name is in parentheses and may
// hold spaces and parentheses itself, so the fields start after the last ')'.
func readStat(dir string) (stat, error) {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return stat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return stat{}, errStat
	}
	// f[0] is field 3 of proc(5) (state), so field N is f[N-3].
	f := bytes.Fields(b[i+2:])
	if len(f) < 22 {
		return stat{}, errStat
	}
	num := func(n int) uint64 {
		v, e := strconv.ParseUint(string(f[n-3]), 10, 64)
		if e != nil {
			err = errStat
		}
		return v
	}
	s := stat{
		pgid:     int(num(5)),
		ticks:    num(14) + num(15) + num(16) + num(17),
		threads:  int(num(20)),
		rssPages: num(24),
	}
	return s, err
}

// readIO reads read_bytes and write_bytes of DIR/io.
func readIO(dir string) (read, written uint64, err error) {
	b, err := os.ReadFile(filepath.Join(dir, "io"))
	if err != nil {
		return 0, 0, err
	}
	found := 0
	for line := range bytes.Lines(b) {
		k, v, ok := bytes.Cut(bytes.TrimSpace(line), []byte(": "))
		if !ok {
			continue
		}
		var dst *uint64
		switch string(k) {
		case "read_bytes":
			dst = &read
		case "write_bytes":
			dst = &written
		default:
			continue
		}
		if *dst, err = strconv.ParseUint(string(v), 10, 64); err != nil {
			return 0, 0, err
		}
		found++
	}
	if found != 2 {
		return 0, 0, errors.New("usage: no read_bytes or write_bytes in io")
	}
	return read, written, nil
}

// countDir counts the entries of dir, 0 when it cannot be read.
func countDir(dir string) int {
	d, err := os.Open(dir)
	if err != nil {
		return 0
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	return len(names)
}

// Meter serves the usage of named process groups from a snapshot at most
// maxAge old, so scrapes in quick succession read /proc once. It turns each
// name's CPU seconds into a counter: what earlier groups of the name used
// (a restarted process gets a new group) plus the current group's, never
// lower than what it reported before.
type Meter struct {
	reader *Reader
	maxAge time.Duration

	mu   sync.Mutex
	at   time.Time
	last map[string]Usage
	cpu  map[string]*cpuCount
}

type cpuCount struct {
	pgid     int
	base     float64 // seconds used by the name's earlier groups
	group    float64 // the current group's seconds at the last read
	reported float64
}

// NewMeter reads through r at most once per maxAge.
func NewMeter(r *Reader, maxAge time.Duration) *Meter {
	return &Meter{reader: r, maxAge: maxAge, cpu: make(map[string]*cpuCount)}
}

// Read gives the usage of each name's process group; groups maps a name to
// its group id. A name whose group has no live process reads as zero but
// for its CPU seconds. Names not in groups are forgotten.
func (m *Meter) Read(groups map[string]int, now time.Time) (map[string]Usage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last != nil && now.Sub(m.at) < m.maxAge && m.same(groups) {
		return m.last, nil
	}
	pgids := make([]int, 0, len(groups))
	for _, g := range groups {
		pgids = append(pgids, g)
	}
	byGroup, err := m.reader.Groups(pgids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Usage, len(groups))
	for name, g := range groups {
		u := byGroup[g]
		c := m.cpu[name]
		switch {
		case c == nil:
			c = &cpuCount{pgid: g}
			m.cpu[name] = c
		case c.pgid != g:
			c.base += c.group
			c.pgid, c.group = g, 0
		}
		c.group = max(c.group, u.CPUSeconds)
		c.reported = max(c.reported, c.base+c.group)
		u.CPUSeconds = c.reported
		out[name] = u
	}
	for name := range m.cpu {
		if _, ok := groups[name]; !ok {
			delete(m.cpu, name)
		}
	}
	m.at, m.last = now, out
	return out, nil
}

// same tells whether groups is what the last snapshot was read for.
func (m *Meter) same(groups map[string]int) bool {
	if len(m.cpu) != len(groups) {
		return false
	}
	for name, g := range groups {
		if c, ok := m.cpu[name]; !ok || c.pgid != g {
			return false
		}
	}
	return true
}
