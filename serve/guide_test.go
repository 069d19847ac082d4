package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"tova/driver"
	"tova/frontend/diag"
	"tova/internal/testutil"
	"tova/vm"
)

// guideBlocks returns the ```tova code blocks of the scaling guide.
func guideBlocks(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../frontend/testdata/scaling-guide.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```tova\n(.*?)```").FindAllStringSubmatch(string(data), -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// guideGaps are the guide's blocks that do not compile on their own, and
// why: each is a fragment (it calls functions or uses models the guide
// declares elsewhere, or has `{ ... }` placeholders). A block is found
// by a line of its own; its error must name the undefined thing.
var guideGaps = map[string]string{
	"// Routes, WebSocket, scheduled tasks, all in one": "undefined: get_users",     // a sketch with { ... } bodies
	`sse "/events" fn(send, close) { ... }`:             "undefined: get_users",     // the same sketch, as named servers
	"fn get_products(req, res) {":                       "undefined: products_hash", // the guide's value and model, declared elsewhere
	"// Scheduled task publishes events":                "undefined: Payment",       // the guide's model, declared elsewhere
	`await fetch("http://service-b/api/data", {`:        "undefined: req",           // a handler's lines (TestFetch runs them in one)
}

// Every code block of the guide compiles, except the known gaps above
// (which fail for the reason given, at a position); every block that
// declares servers starts them, and each answers over HTTP.
func TestGuideBlocksCompileAndServe(t *testing.T) {
	blocks := guideBlocks(t)
	if len(blocks) < 20 {
		t.Fatalf("found only %d blocks", len(blocks))
	}
	served := 0
	for i, src := range blocks {
		p, err := driver.CompileFile("guide.tova", []byte(src))
		gap := ""
		for line, why := range guideGaps {
			if strings.Contains(src, line) {
				gap = why
			}
		}
		if err != nil {
			var list diag.List
			if gap == "" || !errors.As(err, &list) || !strings.Contains(err.Error(), gap) {
				t.Errorf("block %d does not compile:\n%s\n%v", i, src, err)
			}
			continue
		}
		if gap != "" {
			t.Errorf("block %d now compiles: remove its entry from guideGaps\n%s", i, src)
		}
		if len(p.Servers) == 0 {
			continue
		}
		ports := map[string]int{}
		for _, s := range p.Servers {
			ports[s.Name] = 0
		}
		logs := &testutil.Buffer{}
		rt, err := Start(p, Options{Host: "127.0.0.1", Ports: ports, Logger: zerolog.New(logs),
			Stdout: logs, Stderr: logs, Dir: t.TempDir(), Getenv: func(string) (string, bool) { return "", false }})
		if err != nil {
			t.Errorf("block %d does not start: %v\n%s", i, err, src)
			continue
		}
		for _, s := range rt.Servers() {
			if r := do(t, "GET", s.URL()+"/no-such-path", ""); r.status != 404 {
				t.Errorf("block %d, server %q: GET /no-such-path = %d %s", i, s.Name, r.status, r.body)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		rt.Shutdown(ctx)
		cancel()
		served++
	}
	if served < 5 {
		t.Errorf("only %d blocks declare servers that started", served)
	}
}

// guideBlock returns the guide's block that holds line.
func guideBlock(t *testing.T, line string) string {
	t.Helper()
	for _, b := range guideBlocks(t) {
		if strings.Contains(b, line) {
			return b
		}
	}
	t.Fatalf("no block of the guide holds %q", line)
	return ""
}

// The guide's "Data Layer Scaling" blocks run as its prose says: the
// stream block keeps the active rows with an id, in batches, writing
// one header; the data block reads its source at start-up.
func TestGuideDataLayerBlocksRun(t *testing.T) {
	blocks := []string{guideBlock(t, `stream("huge_file.csv", batch: 10000)`), guideBlock(t, `source data = read("data.csv")`)}
	t.Chdir(t.TempDir()) // the guide's paths are relative to the working directory
	var in, want strings.Builder
	in.WriteString("id,name,active\n")
	want.WriteString("id,name,active\n")
	for i := 1; i <= 25000; i++ {
		id := strconv.Itoa(i)
		if i%7 == 0 {
			id = ""
		}
		active := i%3 != 0
		fmt.Fprintf(&in, "%s,user %d,%t\n", id, i, active)
		if id != "" && active {
			fmt.Fprintf(&want, "%s,user %d,true\n", id, i)
		}
	}
	if err := os.WriteFile("huge_file.csv", []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("data.csv", []byte("id,name\n1,ann\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, src := range blocks {
		p, err := driver.CompileFile("guide.tova", []byte(src))
		if err != nil {
			t.Fatalf("%s\n%v", src, err)
		}
		var out bytes.Buffer
		if err := driver.Run(context.Background(), p, vm.Config{Stdout: &out}); err != nil {
			t.Fatalf("%s\n%v", src, err)
		}
	}
	got, err := os.ReadFile("output.csv")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want.String() {
		t.Errorf("output.csv has %d lines, want %d", strings.Count(string(got), "\n"), strings.Count(want.String(), "\n"))
	}
}
