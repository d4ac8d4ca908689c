package pagebench_test

import (
	"fmt"
	"os/exec"
	"runtime"
	"strings"
)

// targets are issue 5's: a ≥ 10× b (2.5× for the customer), a/c ≥ 0.8,
// a/d ≥ 0.85, p99 of a ≤ 50 ms.
func targetAB(v viewer) float64 {
	if v.kind == "customer" {
		return 2.5
	}
	return 10
}

func (b *bench) find(system string, v viewer) *result {
	for i := range b.results {
		if b.results[i].system == system && b.results[i].viewer == v {
			return &b.results[i]
		}
	}
	return nil
}

func (b *bench) report(writes []writeResult, placing []placingResult) string {
	var s strings.Builder
	fmt.Fprintf(&s, "## make bench: the first page of 50 purchase orders with totalCount\n\n")
	fmt.Fprintf(&s, "%d purchase orders; concurrency %d, %v warm-up, %v measured, median of %d runs (min–max); p50/p99 from the median run.\n",
		*poCount, *concurrency, *warmup, *duration, *runs)
	fmt.Fprintf(&s, "CPU is in cores of %d: the server under test / PostgreSQL / the load generator (busy: the whole machine).\n\n", runtime.NumCPU())
	s.WriteString("| viewer | system | req/s | p50 ms | p99 ms | CPU server / postgres / loadgen |\n|---|---|---:|---:|---:|---|\n")
	for _, v := range b.viewers {
		for _, sys := range []string{systemA, systemP, systemB, systemC, systemD, systemS} {
			if r := b.find(sys, v); r != nil {
				fmt.Fprintf(&s, "| %s | %s | %s |\n", v, sys, resultLine(r))
			}
		}
	}
	s.WriteString("\n| viewer | a / b (target) | a / c (≥ 0.8) | a / d (≥ 0.85) | p / a (≥ 0.9) | p99 of a (≤ 50 ms) |\n|---|---:|---:|---:|---:|---:|\n")
	for _, v := range b.viewers {
		a := b.find(systemA, v)
		if a == nil {
			continue
		}
		ra, _, _ := median(a.runs, func(x run) float64 { return x.RPS })
		ratio := func(sys string, target float64) string {
			r := b.find(sys, v)
			if r == nil {
				return "–"
			}
			x, _, _ := median(r.runs, func(x run) float64 { return x.RPS })
			mark := "met"
			if ra/x < target {
				mark = "**missed**"
			}
			return fmt.Sprintf("%.2f× %s", ra/x, mark)
		}
		p99 := medianRun(a.runs).P99
		mark := "met"
		if p99 > 50 {
			mark = "**missed**"
		}
		withPrices := "–"
		if p := b.find(systemP, v); p != nil {
			rp, _, _ := median(p.runs, func(x run) float64 { return x.RPS })
			withPrices = fmt.Sprintf("%.2f× met", rp/ra)
			if rp/ra < 0.9 {
				withPrices = fmt.Sprintf("%.2f× **missed**", rp/ra)
			}
		}
		fmt.Fprintf(&s, "| %s | %s (≥ %.1f×) | %s | %s | %s | %.1f ms %s |\n", v, ratio(systemB, targetAB(v)), targetAB(v),
			ratio(systemC, 0.8), ratio(systemD, 0.85), withPrices, p99, mark)
	}
	s.WriteString(b.rotationReport(b.rotated))
	if len(writes) > 0 {
		s.WriteString("\n### Writes, one at a time, end to end\n\n| write | system | n | p50 ms | p90 ms | p99 ms | max ms | what commits |\n|---|---|---:|---:|---:|---:|---:|---|\n")
		for _, w := range writes {
			fmt.Fprintf(&s, "| %s | %s | %d | %.1f | %.1f | %.1f | %.1f | %s |\n", w.what, w.system, w.n, w.p50, w.p90, w.p99, w.max, w.note)
		}
	}
	if len(placing) > 0 {
		s.WriteString("\n" + placingReport(placing))
	}
	s.WriteString("\n" + machine() + "\n")
	return s.String()
}

func machine() string {
	out := func(name string, args ...string) string {
		b, _ := exec.Command(name, args...).CombinedOutput()
		return strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	}
	cpu := out("sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")
	mem := out("sh", "-c", "free -g | awk '/Mem:/{print $2}'")
	return fmt.Sprintf("Machine: %d CPUs (%s), %s GiB RAM; %s; %s; node %s; %s; %s.", runtime.NumCPU(), strings.TrimSpace(cpu), mem,
		runtime.Version(), out("psql", "--version"), out("node", "--version"), out("wrk", "--version"), out("pgbench", "--version"))
}
