package jobs_test

import (
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"tova/jobs"
)

// A cron tick falling due while PostgreSQL could not be reached for a
// few seconds (a failover, a restart) was lost: each replica logged
// "storing a tick failed; skipped" and none ran it. Two replicas reach
// the database through a proxy cut from 2 s before the tick to 4 s
// after it: the tick is stored late once the database answers, and
// runs once.
func TestCronTickOverADatabaseOutage(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("waits for a minute boundary (the plain run covers it)")
	}
	t.Parallel() // (beside the other minute-boundary tests)
	base := pgSchemaURL(t)
	if base == "" {
		t.Skip("needs PostgreSQL")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p := startCutProxy(t, u.Host)
	u.Host = p.addr()
	be := backend{name: "postgres", url: u.String()}
	src := `
server "w" {
  schedule "every_minute" cron("* * * * *") { print("beat") }
}
`
	a := startApp(t, src, be)
	b := startApp(t, src, be)
	beats := func() int { return len(a.out.Lines("beat")) + len(b.out.Lines("beat")) }
	due := time.Now().Truncate(time.Minute).Add(time.Minute)
	if time.Until(due) < 5*time.Second {
		due = due.Add(time.Minute)
	}
	time.Sleep(time.Until(due.Add(-2 * time.Second)))
	before := beats()
	p.setCut(true)
	time.Sleep(time.Until(due.Add(4 * time.Second)))
	p.setCut(false)
	waitFor(t, time.Until(due.Add(40*time.Second)), "the tick of "+due.Format("15:04"), func() bool { return beats() > before })
	if late := time.Since(due); late > 20*time.Second {
		t.Errorf("the tick ran %v after it was due", late.Round(time.Millisecond))
	}
	time.Sleep(2 * time.Second) // (a second run would come now)
	logs := a.logs.String() + b.logs.String()
	if n := beats() - before; n != 1 {
		t.Errorf("%d runs of the tick, want 1\n%s", n, logs)
	}
	if n := strings.Count(logs, "stored the tick late"); n != 1 {
		t.Errorf("%d replicas said they stored the tick late, want 1:\n%s", n, logs)
	}
	if strings.Contains(logs, "skipped") {
		t.Errorf("a replica skipped the tick:\n%s", logs)
	}
	if n := strings.Count(logs, "storing a tick failed"); n > 2 {
		t.Errorf("the retries logged %d lines, want one a replica:\n%s", n, logs)
	}
	var ticks int
	for _, j := range listJobs(t, backend{url: base}, jobs.StateCompleted) {
		if j.Kind == "schedule" && !j.CreatedAt.Before(due.Add(-time.Second)) {
			ticks++
		}
	}
	if ticks != 1 {
		t.Errorf("%d ticks stored since %s, want 1", ticks, due.Format("15:04:05"))
	}
}

// cutProxy forwards TCP connections to a server; cut, it drops them all
// and closes every new one at once, as a database that went away.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.setCut(true)
	})
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *cutProxy) forward(c net.Conn) {
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		c.Close()
		return
	}
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conns[c], p.conns[s] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(s, c)
	go pipe(c, s)
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
	c.Close()
	s.Close()
}

// setCut cuts the proxy (every connection dropped, new ones refused) or
// restores it.
func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
	}
}
