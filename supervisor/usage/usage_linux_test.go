package usage

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the measured child: USAGE_HELPER names what
// it does before it says "ready" and waits for its stdin to close.
func TestMain(m *testing.M) {
	if mode := os.Getenv("USAGE_HELPER"); mode != "" {
		helper(mode)
		return
	}
	os.Exit(m.Run())
}

var held []byte

func helper(mode string) {
	kind, arg, _ := strings.Cut(mode, ":")
	n, _ := strconv.Atoi(arg)
	switch kind {
	case "mem": // hold n MiB, every page touched; mapped directly, so the
		// race detector's shadow memory does not double it
		var err error
		held, err = syscall.Mmap(-1, 0, max(n, 1)<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			os.Exit(3)
		}
		if n == 0 {
			break
		}
		for i := range held {
			if i%4096 == 0 {
				held[i] = 1
			}
		}
	case "cpu": // burn n ms of CPU time, then idle
		for cpuMillis() < n {
			for i := 0; i < 1e6; i++ {
				_ = i * i
			}
		}
	case "tree": // start n idle children in this process group
		for range n {
			c := exec.Command(os.Args[0])
			c.Env = append(os.Environ(), "USAGE_HELPER=idle:0")
			c.Stdin = os.Stdin
			out, _ := c.StdoutPipe()
			if err := c.Start(); err != nil {
				os.Exit(3)
			}
			bufio.NewReader(out).ReadString('\n')
		}
	}
	fmt.Println("ready")
	buf := make([]byte, 1)
	os.Stdin.Read(buf)
}

func cpuMillis() int {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return int(ru.Utime.Nano()/1e6 + ru.Stime.Nano()/1e6)
}

// start runs the helper as the leader of its own process group and waits
// for its "ready".
func start(t *testing.T, mode string) int {
	t.Helper()
	c := exec.Command(os.Args[0])
	c.Env = append(os.Environ(), "USAGE_HELPER="+mode)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		c.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if s != "ready\n" {
			t.Fatalf("helper %s said %q, want ready", mode, s)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("helper %s not ready after 30s", mode)
	}
	return c.Process.Pid
}

func TestGroupsMemory(t *testing.T) {
	const mib = 64
	base := start(t, "mem:0")
	big := start(t, fmt.Sprintf("mem:%d", mib))
	got, err := NewReader("/proc").Groups([]int{base, big})
	if err != nil {
		t.Fatal(err)
	}
	diff := int64(got[big].ResidentBytes) - int64(got[base].ResidentBytes)
	// Two Go runtimes differ by a few MiB of their own.
	if big := got[big].ResidentBytes; big < mib<<20 || diff < (mib-4)<<20 || diff > (mib+16)<<20 {
		t.Errorf("a child holding %d MiB: have %d MiB resident, %d MiB over an idle one; want at least %d, and %d to %d over",
			mib, big>>20, diff>>20, mib, mib-4, mib+16)
	}
	for _, pid := range []int{base, big} {
		u := got[pid]
		if u.Processes != 1 || u.Threads < 1 || u.OpenFDs < 3 {
			t.Errorf("group %d: have %+v, want 1 process, threads and at least stdin/out/err open", pid, u)
		}
	}
}

func TestGroupsCPU(t *testing.T) {
	const ms = 400
	pid := start(t, fmt.Sprintf("cpu:%d", ms))
	got, err := NewReader("/proc").Groups([]int{pid})
	if err != nil {
		t.Fatal(err)
	}
	// The helper's own start-up adds a little; ticks are 10 ms each.
	if s := got[pid].CPUSeconds; s < ms/1000.0-0.02 || s > ms/1000.0+1 {
		t.Errorf("CPU seconds of a child that burned %d ms: have %.2f", ms, s)
	}
}

func TestGroupsChildren(t *testing.T) {
	pid := start(t, "tree:3")
	got, err := NewReader("/proc").Groups([]int{pid, 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if u := got[pid]; u.Processes != 4 || u.Threads < 4 {
		t.Errorf("leader with 3 children in its group: have %+v, want 4 processes", u)
	}
	if _, ok := got[1<<30]; ok {
		t.Errorf("a group with no process is in the result")
	}
}

func TestMeterCounter(t *testing.T) {
	first := start(t, "cpu:200")
	m := NewMeter(NewReader("/proc"), time.Second)
	now := time.Now()
	u1, err := m.Read(map[string]int{"app": first}, now)
	if err != nil {
		t.Fatal(err)
	}
	if u1["app"].CPUSeconds < 0.18 {
		t.Fatalf("first read: have %.2f CPU seconds, want at least 0.18", u1["app"].CPUSeconds)
	}
	// A restart: the name's new group starts from nothing, the counter
	// goes on from what the first group used.
	second := start(t, "cpu:200")
	u2, err := m.Read(map[string]int{"app": second}, now.Add(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if have, want := u2["app"].CPUSeconds, u1["app"].CPUSeconds+0.18; have < want {
		t.Errorf("after a restart: have %.2f CPU seconds, want at least %.2f", have, want)
	}
	// Within maxAge and for the same groups, the snapshot is served again.
	u3, _ := m.Read(map[string]int{"app": second}, now.Add(500*time.Millisecond))
	if u3["app"] != u2["app"] {
		t.Errorf("read within maxAge: have %+v, want the cached %+v", u3["app"], u2["app"])
	}
}

func TestReadStatOddName(t *testing.T) {
	dir := t.TempDir()
	// A command name with spaces and parentheses, as prctl allows.
	line := "42 (a) b (c) S 1 42 42 0 -1 4194304 1 0 0 0 150 50 7 3 20 0 5 0 1 1000 300 0\n"
	if err := os.WriteFile(dir+"/stat", []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := readStat(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := stat{pgid: 42, ticks: 210, threads: 5, rssPages: 300}
	if st != want {
		t.Errorf("have %+v, want %+v", st, want)
	}
}
