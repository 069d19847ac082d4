package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
)

func TestQueueName(t *testing.T) {
	valid := regexp.MustCompile(`^(?:[a-z0-9])+(?:[_|\-]?[a-z0-9]+)*$`) // River's rule
	seen := map[string]string{}
	for server, want := range map[string]string{
		"":          "default",
		"worker":    "worker",
		"api-v2":    "api-v2",
		"Worker":    "worker_",
		"my worker": "my_worker_",
		"a__b":      "a_b_",
		"default":   "default_",
		"-x-":       "x_",
		"ünï":       "",
		// River takes 64 bytes: a longer name is cut, and hashed.
		strings.Repeat("a", 64):                                 strings.Repeat("a", 64),
		strings.Repeat("a", 65):                                 strings.Repeat("a", 55) + "_",
		strings.Repeat("a", 70):                                 strings.Repeat("a", 55) + "_",
		strings.Repeat("a", 54) + "-" + "b":                     strings.Repeat("a", 54) + "-b",
		strings.Repeat("a", 54) + "-" + strings.Repeat("b", 20): strings.Repeat("a", 54) + "_",
	} {
		got := queueName(server)
		if len(got) > maxQueueName {
			t.Errorf("queueName(%q) = %q: longer than %d bytes", server, got, maxQueueName)
		}
		if !valid.MatchString(got) {
			t.Errorf("queueName(%q) = %q: not a valid River queue name", server, got)
		}
		if !strings.HasPrefix(got, want) {
			t.Errorf("queueName(%q) = %q, want prefix %q", server, got, want)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("servers %q and %q share queue %q", server, other, got)
		}
		seen[got] = server
		ticks := tickQueueName(server)
		if len(ticks) > maxQueueName || !valid.MatchString(ticks) {
			t.Errorf("tickQueueName(%q) = %q: not a valid River queue name", server, ticks)
		}
		if other, dup := seen[ticks]; dup {
			t.Errorf("the ticks of %q share queue %q with %q", server, ticks, other)
		}
		seen[ticks] = "ticks of " + server
	}
}

func TestBackoffIsExponential(t *testing.T) {
	b := backoff{base: time.Second, limit: 30 * time.Second, now: func() time.Time { return time.Unix(0, 0) }}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 5: 16 * time.Second, 6: 30 * time.Second, 40: 30 * time.Second} {
		if got := b.delay(attempt); got != want {
			t.Errorf("delay(%d) = %v, want %v", attempt, got, want)
		}
		for range 20 {
			d := b.NextRetry(&rivertype.JobRow{Attempt: attempt}).Sub(time.Unix(0, 0))
			if d < want/2 || d > want {
				t.Fatalf("attempt %d waits %v, want within [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
}

// A client id fits River's 100 bytes whatever the host name (a pod's may
// be 63 bytes long) and the queue's.
func TestClientIDFits(t *testing.T) {
	for _, host := range []string{"h", strings.Repeat("h", 63), strings.Repeat("h", 300)} {
		for _, queue := range []string{"default", strings.Repeat("q", maxQueueName)} {
			id := clientID(queue, host)
			if len(id) > maxClientID || !strings.HasPrefix(id, queue+".h") {
				t.Errorf("clientID(%d-byte queue, %d-byte host) = %q (%d bytes)", len(queue), len(host), id, len(id))
			}
		}
	}
}

func TestJSONDepth(t *testing.T) {
	for s, want := range map[string]int{
		`1`:                          0,
		`"[[["`:                      0,
		`[]`:                         1,
		`[1,{"a":[2]}]`:              3,
		`["\"[", {"b": "\\"}, [[]]]`: 3,
		`{"x":"]]]"}`:                1,
	} {
		if got := jsonDepth([]byte(s)); got != want {
			t.Errorf("jsonDepth(%s) = %d, want %d", s, got, want)
		}
	}
}

// A delivery split from an event finds its subscriber in the program
// running now: by name; an unnamed one by its place among the topic's
// unnamed subscribers, while they are as many as when it was split
// (lines moved by an edit do not matter); otherwise it has none (and is
// dropped), never another's. A delivery of an earlier version, without
// a key, goes by its place.
func TestPickSubscriber(t *testing.T) {
	subs := []subscriber{{name: "ship"}, {}, {name: "notify"}, {}}
	keySubscribers(subs)
	if keys := []string{subs[0].key, subs[1].key, subs[2].key, subs[3].key}; strings.Join(keys, " ") != "fn:ship #0/2 fn:notify #1/2" {
		t.Fatalf("keys: %q", keys)
	}
	sub := func(i int) *int { return &i }
	cases := []struct {
		a    eventArgs
		want string // "" for none
	}{
		{eventArgs{Sub: sub(0), Key: "fn:notify"}, "fn:notify"},
		{eventArgs{Sub: sub(2), Key: "fn:audit"}, ""}, // gone
		{eventArgs{Sub: sub(0), Key: "#1/2"}, "#1/2"},
		{eventArgs{Sub: sub(1), Key: "#1/3"}, ""}, // the unnamed ones changed in number
		{eventArgs{Sub: sub(2)}, "fn:notify"},     // an earlier version's: by place
		{eventArgs{Sub: sub(4)}, ""},
	}
	for _, c := range cases {
		got, ok := pickSubscriber(subs, &c.a)
		if !ok && c.want != "" || ok && got.key != c.want {
			t.Errorf("%+v: got %q (%v), want %q", c.a, got.key, ok, c.want)
		}
	}
}

// A job stored before the arguments were kept as a JSON string (their
// JSON itself) is read as it was.
func TestWireJSONReadsBothForms(t *testing.T) {
	for _, in := range []string{`{"server":"s","fn":"f","args":"[{\"b\":1,\"a\":2}]"}`, `{"server":"s","fn":"f","args":[{"b":1,"a":2}]}`} {
		var a jobArgs
		if err := json.Unmarshal([]byte(in), &a); err != nil || string(a.Args) != `[{"b":1,"a":2}]` {
			t.Errorf("%s: %q %v", in, a.Args, err)
		}
	}
	b, _ := json.Marshal(jobArgs{Server: "s", Fn: "f", Args: wireJSON(`[{"b":1}]`)})
	if string(b) != `{"server":"s","fn":"f","args":"[{\"b\":1}]"}` {
		t.Errorf("stored as %s", b)
	}
}

// A client of this host is gone when no process has its id, and also
// when this process has it but is not it: a restarted container's
// process 1 took the dead one's id, and the dead one's leadership and
// running jobs waited for the heartbeat fallback (schedules stopped for
// some 14 s).
func TestGoneHereSeesItsOwnProcessIDReused(t *testing.T) {
	r := &Runner{host: "h"}
	pid := int64(os.Getpid())
	mine := clientID("q", "h")
	for _, c := range []struct {
		row  clientRow
		gone bool
	}{
		{clientRow{ID: mine, Host: "h", PID: pid}, false},
		{clientRow{ID: clientID("other", "h"), Host: "h", PID: pid}, false}, // a sibling Runner of this process
		{clientRow{ID: "q.h." + strconv.FormatInt(pid, 10) + ".0badc0de1", Host: "h", PID: pid}, true},
		{clientRow{ID: "q.x." + strconv.FormatInt(pid, 10) + ".0badc0de1", Host: "x", PID: pid}, false}, // another host: not ours to tell
		{clientRow{ID: "q.h.0.0badc0de1", Host: "h", PID: 0}, true},
	} {
		if got := r.goneHere(c.row); got != c.gone {
			t.Errorf("goneHere(%+v) = %v, want %v", c.row, got, c.gone)
		}
	}
	// "Here" is this process id namespace: containers sharing a host name
	// (host networking) each have their own, where the other's process ids
	// mean nothing (a live peer was taken for a dead one).
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil {
		name, _ := os.Hostname()
		if h := hostname(); !strings.HasPrefix(h, name+"#") || !strings.Contains(ns, h[len(name)+1:]) {
			t.Errorf("hostname() = %q, for host %q in namespace %s", h, name, ns)
		}
	}
}

// The jobs file's connection keeps the journals of its statements in
// memory: on disk by default, a statement journal spilled to a new
// 64 KiB buffer, mapped and unmapped again, at every statement of
// River's that writes several rows, which with the compiling of the
// statements was most of the CPU a job took.
func TestSQLiteQueueKeepsStatementJournalsInMemory(t *testing.T) {
	d, err := openSQLite(filepath.Join(t.TempDir(), "q.jobs.db"), SQLiteListenPoll)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	ctx := context.Background()
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := d.query(ctx, tx, "PRAGMA temp_store")
		if err == nil && (len(rows) != 1 || asInt(rows[0][0]) != 2) {
			err = fmt.Errorf("temp_store is %v, not 2 (memory)", rows)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
