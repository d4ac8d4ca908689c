package pagebench_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// run is one measured run of one system for one viewer.
type run struct {
	RPS      float64
	P50, P99 float64 // milliseconds
	Errors   int     // non-2xx answers or failed transactions
	CPU      cpuSplit
}

// wrkLua posts BODY_FILE with the header HEADER_NAME: HEADER_VALUE.
const wrkLua = `local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers[os.getenv("HEADER_NAME")] = os.getenv("HEADER_VALUE")
`

// wrkRun drives url with wrk as the peer's bench.py does (-t2, concurrency
// connections, --latency): a warm-up, then the measured run, sampling CPU
// from /proc while it lasts.
func wrkRun(ctx context.Context, dir, url, bodyFile, headerName, headerValue string, serverPID int) (run, error) {
	return wrkScriptRun(ctx, dir, url, "post.lua", wrkLua, serverPID,
		"BODY_FILE="+bodyFile, "HEADER_NAME="+headerName, "HEADER_VALUE="+headerValue)
}

// wrkThreads is wrk's -t: two threads, as the peer's bench.py runs it.
const wrkThreads = 2

// wrkScriptRun is wrkRun with the Lua script lua (written to dir/name once)
// and its environment env.
func wrkScriptRun(ctx context.Context, dir, url, name, lua string, serverPID int, env ...string) (run, error) {
	script := filepath.Join(dir, name)
	if !fileExists(script) {
		if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
			return run{}, err
		}
	}
	env = append(os.Environ(), env...)
	args := func(d time.Duration) []string {
		return []string{"-t", strconv.Itoa(wrkThreads), "-c", strconv.Itoa(*concurrency), "-d", fmt.Sprintf("%ds", int(d.Seconds())), "--latency", "-s", script, url}
	}
	warm := exec.CommandContext(ctx, "wrk", args(*warmup)...)
	warm.Env = env
	if out, err := warm.CombinedOutput(); err != nil {
		return run{}, fmt.Errorf("wrk warm-up: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, "wrk", args(*duration)...)
	cmd.Env = env
	out, cpu, err := withCPU(cmd, *duration, serverPID, "wrk")
	if err != nil {
		return run{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	r, err := parseWrk(out)
	r.CPU = cpu
	return r, err
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSockErr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func parseWrk(out string) (run, error) {
	var r run
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk's output:\n%s", out)
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	for _, m := range wrkPct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		v *= map[string]float64{"us": 0.001, "ms": 1, "s": 1000}[m[3]]
		switch m[1] {
		case "50":
			r.P50 = v
		case "99":
			r.P99 = v
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		r.Errors, _ = strconv.Atoi(m[1])
	}
	if m := wrkSockErr.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.Errors += n
		}
	}
	return r, nil
}

// pgbenchRun replays script (one viewer's statements) with pgbench as the
// peer's floor runs do: -c concurrency -j 2 -M prepared, a warm-up, then the
// measured run with per-transaction latencies logged.
func pgbenchRun(ctx context.Context, dir, dbURL, script string) (run, error) {
	return pgbenchRunWith(ctx, dir, dbURL, script, *concurrency, *warmup, *duration)
}

// pgbenchRunWith is pgbenchRun with clients connections, warm of warm-up and
// measured of measured time.
func pgbenchRunWith(ctx context.Context, dir, dbURL, script string, clients int, warm, measured time.Duration) (run, error) {
	base := []string{"-n", "-M", "prepared", "-c", strconv.Itoa(clients), "-j", "2", "-f", script}
	warmCmd := exec.CommandContext(ctx, "pgbench", append(base, "-T", strconv.Itoa(int(warm.Seconds())), dbURL)...)
	if out, err := warmCmd.CombinedOutput(); err != nil {
		return run{}, fmt.Errorf("pgbench warm-up: %v\n%s", err, out)
	}
	logDir, err := os.MkdirTemp(dir, "pgbench-log-")
	if err != nil {
		return run{}, err
	}
	defer os.RemoveAll(logDir)
	prefix := filepath.Join(logDir, "tx")
	cmd := exec.CommandContext(ctx, "pgbench", append(base, "-T", strconv.Itoa(int(measured.Seconds())), "-l", "--log-prefix="+prefix, dbURL)...)
	out, cpu, err := withCPU(cmd, measured, 0, "pgbench")
	if err != nil {
		return run{}, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	var r run
	r.CPU = cpu
	m := regexp.MustCompile(`tps = ([\d.]+) \(without initial connection time\)`).FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no tps in pgbench's output:\n%s", out)
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	if m := regexp.MustCompile(`number of failed transactions: (\d+)`).FindStringSubmatch(out); m != nil {
		r.Errors, _ = strconv.Atoi(m[1])
	}
	logs, _ := filepath.Glob(prefix + ".*")
	var lat []float64
	for _, f := range logs {
		b, err := os.ReadFile(f)
		if err != nil {
			return r, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 2 {
				us, _ := strconv.ParseFloat(f[2], 64)
				lat = append(lat, us/1000)
			}
		}
	}
	r.P50, r.P99 = quantile(lat, 0.50), quantile(lat, 0.99)
	return r, nil
}

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[min(len(v)-1, int(q*float64(len(v))))]
}

// cpuSplit is where the machine's CPU went during a measured run, in cores:
// the server under test, PostgreSQL's processes, the load generator.
type cpuSplit struct {
	Server, Postgres, LoadGen, Busy float64
}

func (c cpuSplit) String() string {
	return fmt.Sprintf("%.2f / %.2f / %.2f (busy %.2f)", c.Server, c.Postgres, c.LoadGen, c.Busy)
}

// withCPU runs cmd, sampling per-process CPU time over the middle of its run
// (from 3 s after it starts for measured-6 s; a short run, from a quarter of
// it for half of it); loadGen is the load generator's command name.
func withCPU(cmd *exec.Cmd, measured time.Duration, serverPID int, loadGen string) (string, cpuSplit, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", cpuSplit{}, err
	}
	done := make(chan cpuSplit, 1)
	skip := min(3*time.Second, measured/4)
	from := time.Now().Add(skip)
	go func() {
		done <- cpuBetween(from, from.Add(measured-2*skip), serverPID,
			func(_ int, comm string) bool { return strings.HasPrefix(comm, loadGen) })
	}()
	err := cmd.Wait()
	return out.String(), <-done, err
}

// cpuBetween sleeps until from, and returns where the CPU went from then to
// to; isLoadGen tells the load generator's processes.
func cpuBetween(from, to time.Time, serverPID int, isLoadGen func(pid int, comm string) bool) cpuSplit {
	time.Sleep(time.Until(from))
	a, ta := procTimes()
	time.Sleep(time.Until(to))
	b, tb := procTimes()
	return split(a, b, ta, tb, serverPID, isLoadGen)
}

type procTime struct {
	comm  string
	ticks int64
}

// procTimes reads every process's user+system ticks, and the machine's
// busy and total ticks.
func procTimes() (map[int]procTime, [2]int64) {
	res := map[int]procTime{}
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < 0 {
			continue
		}
		f := strings.Fields(s[closing+2:])
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		res[pid] = procTime{s[open+1 : closing], utime + stime}
	}
	var total [2]int64
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])[1:]
		var all, idle int64
		for i, x := range f {
			n, _ := strconv.ParseInt(x, 10, 64)
			all += n
			if i == 3 || i == 4 {
				idle += n
			}
		}
		total = [2]int64{all - idle, all}
	}
	return res, total
}

func split(a, b map[int]procTime, ta, tb [2]int64, serverPID int, isLoadGen func(pid int, comm string) bool) cpuSplit {
	cpus := float64(len(cpuList()))
	wall := float64(tb[1]-ta[1]) / cpus // ticks of wall time per CPU
	if wall <= 0 {
		return cpuSplit{}
	}
	var c cpuSplit
	for pid, pb := range b {
		pa, ok := a[pid]
		if !ok || pb.ticks <= pa.ticks {
			continue
		}
		d := float64(pb.ticks-pa.ticks) / wall
		switch {
		case pid == serverPID:
			c.Server += d
		case strings.HasPrefix(pb.comm, "postgres"):
			c.Postgres += d
		case isLoadGen(pid, pb.comm):
			c.LoadGen += d
		}
	}
	c.Busy = float64(tb[0]-ta[0]) / wall
	return c
}

func cpuList() []string {
	b, _ := os.ReadFile("/proc/stat")
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "cpu") && !strings.HasPrefix(l, "cpu ") {
			out = append(out, l)
		}
	}
	return out
}
