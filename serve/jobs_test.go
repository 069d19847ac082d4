package serve

import (
	"strings"
	"testing"
	"time"
)

// A background fn's and a subscriber's typed parameters take back what
// was sent, as a call's from another server do: Some and None, records,
// Results; an untyped one gets the wire form (Some(x) is x, None nil);
// one that does not convert fails the job for good, naming the
// parameter; a nil stays nil. The forms an earlier version stored
// Options in are taken.
func TestJobArgumentsTyped(t *testing.T) {
	app := startApp(t, `
type Note { text: String, n: Int }
server {
  var got = []
  background fn remind(due: Option<Int>) {
    got = [...got, match due { Some(d) => "due in {d}", None => "no due" }]
  }
  background fn note(n: Note, r: Result<Int, String>) { got = [...got, "{type_of(n)} {n.text} {r}"] }
  background fn plain(x) { got = [...got, "plain {x}"] }
  background fn count(n: Int) { got = [...got, "count {n}"] }
  subscribe "noted" fn(n: Note) { got = [...got, if n == nil { "event nil" } else { "event {type_of(n)} {n.n}" }] }
  route GET "/go" => fn() {
    spawn_job(remind, Some(3))
    spawn_job(remind, None)
    spawn_job(note, Note(text: "x", n: 1), Err("e"))
    spawn_job(plain, Some(5))
    spawn_job(count, "many")
    spawn_job(count, nil)
    publish("noted", Note(text: "y", n: 2))
    publish("noted")
    // (as a job stored by an earlier version kept Some(7) and None)
    spawn_job(remind, { value: 7 })
    spawn_job(remind, { __tag: "None" })
    "queued"
  }
  route GET "/got" => fn() sorted(got)
}`, func(o *Options) { o.Dir = t.TempDir() })
	if r := do(t, "GET", app.urls[""]+"/go", ""); r.status != 200 {
		t.Fatalf("GET /go: %d %s", r.status, r.body)
	}
	want := `["Note x Err(\"e\")","count nil","due in 3","due in 7","event Note 2","event nil","no due","no due","plain 5"]`
	var body string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if body = do(t, "GET", app.urls[""]+"/got", "").body; body == want {
			break
		}
	}
	if body != want {
		t.Fatalf("the jobs saw %s, want %s\n%s", body, want, app.logs)
	}
	failed := func() bool {
		// (the kind apart, as a handler's failure is logged)
		return strings.Contains(app.logs.String(), `"in":"job count"`) && strings.Contains(app.logs.String(), `"kind":"TypeError"`) &&
			strings.Contains(app.logs.String(), `"message":"the arguments do not fit the parameters' types: n must be`)
	}
	defer func() {
		// Not retried: every attempt would fail the same way.
		if !strings.Contains(app.logs.String(), `"stack":"  at count (app.tova:`) {
			t.Errorf("the failure names no position of the fn:\n%s", app.logs)
		}
		if n := strings.Count(app.logs.String(), `"in":"job count"`); n != 1 || !strings.Contains(app.logs.String(), `"will_retry":false`) {
			t.Errorf("the job whose argument does not convert was logged %d times, or as to be retried:\n%s", n, app.logs)
		}
	}()
	waitFor(t, failed)
	if !failed() {
		t.Fatalf("a job whose argument does not convert: no failure logged naming it:\n%s", app.logs)
	}
}
