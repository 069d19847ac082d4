package driver

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tova/vm"
)

// runScript compiles and runs src with cfg, returning its output.
func runScript(t *testing.T, src string, cfg vm.Config) (string, error) {
	t.Helper()
	p, err := CompileFile(filepath.Join(t.TempDir(), "s.tova"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cfg.Stdout = &out
	if cfg.Stderr == nil {
		cfg.Stderr = &bytes.Buffer{}
	}
	err = Run(context.Background(), p, cfg)
	return out.String(), err
}

// The scripting builtins of the reference's io.md: arguments, standard
// input, paths and commands.
func TestScriptBuiltins(t *testing.T) {
	dir := t.TempDir()
	out, err := runScript(t, `
print(args())
print(read_lines())
print(path_join("a", "b", "../c.txt"), path_ext("x.tar.gz"), path_basename("/a/b.tova"), path_dirname("/a/b.tova"))
print(path_relative("/a/b", "/a/c/d"), path_resolve("/x", "y", "/z", "w"))
print([path_dirname("/srv/app/data/"), path_basename("/srv/report.csv", ".csv"), path_ext(".env"), path_ext("a.b/c"), path_basename("/"), path_join(), path_relative("/a", "/a")])
print(sh("echo hi; echo there >&2").trim(), exec("printf", ["%s-%s", "a", "b"]))
try { sh("exit 3") } catch e { print(e.kind, e.message, e.status) }
try { exec("/no/such/command") } catch e { print(e.kind) }
print(sh("sleep 3 & echo bg").trim())
try { sh("kill -9 $$") } catch e { print(e.message, e.status) }
print(script_dir() == path_resolve(script_dir()), path_basename(script_path()))
`, vm.Config{Args: []string{"x", "y"}, Stdin: strings.NewReader("one\r\ntwo\n"), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want := `["x", "y"]
["one", "two"]
a/c.txt .gz b.tova /a
../c/d /z/w
["/srv/app", "report", "", "", "", ".", ""]
hi a-b
ProcessError sh: "exit 3" exited with status 3 3
ProcessError
bg
sh: "kill -9 $$" was stopped by a signal (signal: killed) -1
true s.tova
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

// path_join keeps a trailing separator, as Node's path.join does (it
// dropped it, so that "dir/" came out as "dir").
func TestPathJoinTrailingSlash(t *testing.T) {
	out, err := runScript(t, `
print([path_join("a", "b/"), path_join("/a/", "../b", "c/"), path_join("a", "..", "/"), path_join("/", "/"), path_join("a//"), path_join("a/b/../"), path_join("a", ""), path_join("", "")])
`, vm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// node -e 'const p = require("path"); console.log(p.join("a", "b/"), ...)'
	want := `["a/b/", "/b/c/", "./", "/", "a/", "a/", "a", "."]` + "\n"
	if out != want {
		t.Errorf("got %s want %s", out, want)
	}
}

// A command that cannot start is named once, in plain words: Go's own
// error named it twice and spoke of fork/exec.
func TestExecStartError(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A script whose #! interpreter is missing exists all the same.
	noInterp := filepath.Join(dir, "deploy.sh")
	if err := os.WriteFile(noInterp, []byte("#!/no/such/interp\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := runScript(t, `
for cmd in ["no-such-command-tova", "/no/such/dir/tool", args()[0], args()[1]] {
  try { exec(cmd, ["a"]) } catch e { print(e.kind, e.message) }
}
`, vm.Config{Args: []string{notExec, noInterp}})
	if err != nil {
		t.Fatal(err)
	}
	want := `ProcessError exec: command "no-such-command-tova" not found in PATH
ProcessError exec: no such file: /no/such/dir/tool
ProcessError exec: cannot run ` + notExec + `: permission denied
ProcessError exec: cannot run ` + noInterp + `: the interpreter its #! line names (or the loader it needs) was not found
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

// exit(code) ends the program at once (no catch or finally runs) with
// an Exit error carrying the code; in a server it is an error, as is
// chdir, which would move every request's relative paths.
func TestExit(t *testing.T) {
	out, err := runScript(t, `
print("before")
try { exit(7) } catch e { print("caught") } finally { print("finally") }
print("after")
`, vm.Config{})
	var ve *vm.Error
	if !errors.As(err, &ve) || ve.Kind != vm.ErrExit || ve.Value.AsInt() != 7 || out != "before\n" {
		t.Fatalf("exit: %v, output %q", err, out)
	}
	// Nor do the builtins that catch errors (try_fn, retry, assert_throws)
	// catch it, or call the function again.
	for _, src := range []string{
		"r = try_fn(fn() exit(5))\nprint(\"after\")",
		"retry(fn() { print(\"attempt\")\n exit(5) }, { times: 3, delay: 0 })",
		"assert_throws(fn() exit(5))\nprint(\"after\")",
	} {
		out, err = runScript(t, src, vm.Config{})
		if !errors.As(err, &ve) || ve.Kind != vm.ErrExit || ve.Value.AsInt() != 5 || strings.Contains(out, "after") || strings.Count(out, "attempt") > 1 {
			t.Errorf("%s: %v, output %q", src, err, out)
		}
	}
	for _, src := range []string{`exit(0)`, `chdir("/")`} {
		_, err = runScript(t, src, vm.Config{Serving: []string{""}})
		if !errors.As(err, &ve) || ve.Kind != "Error" || !strings.Contains(ve.Msg, "a server") {
			t.Errorf("%s in a server: %v", src, err)
		}
	}
}

// A command still running when the program's context ends is killed.
func TestShStopsWithItsThread(t *testing.T) {
	p, err := CompileFile("s.tova", []byte(`sh("sleep 30")`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = Run(ctx, p, vm.Config{Stdout: &bytes.Buffer{}, Stderr: os.Stderr})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("sh ran on: %v after %v", err, time.Since(start))
	}
}

// The colour and style functions of the reference's terminal.md were
// undefined; they style their text for a terminal, and not when
// NO_COLOR is set.
func TestTerminalStyles(t *testing.T) {
	src := `print(green("ok"), bold(red("x")), color("w", "white"), underline(1))`
	env := func(noColor string) func(string) (string, bool) {
		return func(name string) (string, bool) {
			if name == "NO_COLOR" && noColor != "" {
				return noColor, true
			}
			return "", false
		}
	}
	out, err := runScript(t, src, vm.Config{Terminal: true, Getenv: env("")})
	if err != nil {
		t.Fatal(err)
	}
	if want := "\x1b[32mok\x1b[39m \x1b[1m\x1b[31mx\x1b[39m\x1b[22m \x1b[37mw\x1b[39m \x1b[4m1\x1b[24m\n"; out != want {
		t.Errorf("on a terminal: %q, want %q", out, want)
	}
	out, err = runScript(t, src, vm.Config{Terminal: true, Getenv: env("1")})
	if err != nil {
		t.Fatal(err)
	}
	if want := "ok x w 1\n"; out != want {
		t.Errorf("with NO_COLOR: %q, want %q", out, want)
	}
}

// An env Duration written well but too long for one says so: it was
// "expected Duration, got ... (a duration such as 30s ...)", which it
// is.
func TestEnvDurationOutOfRange(t *testing.T) {
	for raw, want := range map[string]string{
		"106752d":  `env TTL: expected Duration, got "106752d": out of range for Duration (about ±292 years)`,
		"2562048h": `env TTL: expected Duration, got "2562048h": out of range for Duration (about ±292 years)`,
		"5x":       `env TTL: expected Duration, got "5x" (a duration such as 30s, 500ms, 1h30m or 2d)`,
	} {
		_, err := runScript(t, "env TTL: Duration = 1.hour\nprint(TTL)\n", vm.Config{Getenv: func(k string) (string, bool) {
			return raw, k == "TTL"
		}})
		var ve *vm.Error
		if !errors.As(err, &ve) || ve.Kind != "EnvError" || !strings.Contains(ve.Msg, want) {
			t.Errorf("TTL=%s: %v, want %s", raw, err, want)
		}
	}
}

// An env variable whose name says it holds a secret is not shown when
// its text is not of its declared type: the error goes to the log at
// every start.
func TestEnvSecretValueNotShown(t *testing.T) {
	for name, shown := range map[string]bool{"API_KEY": false, "SESSION_SECRET": false, "DB_PASSWORD": false, "auth_token": false, "DB_PASS": false, "SMTP_PWD": false, "WORKERS": true} {
		_, err := runScript(t, "env "+name+": Int = 0\nprint("+name+")\n", vm.Config{Getenv: func(k string) (string, bool) {
			return "sk_live_abc", k == name
		}})
		var ve *vm.Error
		if !errors.As(err, &ve) || ve.Kind != "EnvError" || strings.Contains(ve.Msg, "sk_live_abc") != shown {
			t.Errorf("%s: %v", name, err)
		}
		if ve != nil && !shown && !strings.Contains(ve.Msg, "got a value of 11 bytes (not shown: the name says it is a secret)") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A URL's password is never shown.
	_, err := runScript(t, "env DATABASE_URL: Int = 0\nprint(DATABASE_URL)\n", vm.Config{Getenv: func(k string) (string, bool) {
		return "postgres://u:topsecret@h/db", k == "DATABASE_URL"
	}})
	if err == nil || strings.Contains(err.Error(), "topsecret") || !strings.Contains(err.Error(), `got "postgres://u:xxxxx@h/db"`) {
		t.Errorf("DATABASE_URL: %v", err)
	}
	// Nor one url.Parse refuses, nor a DSN's password= word.
	for _, v := range []string{"postgres://u:top#topsecret@h/db", "postgres://u:topsecret@h:badport/db", "host=h user=u password=topsecret", "postgres://u:topsecret@h/db\n"} {
		_, err := runScript(t, "env DATABASE_URL: Int = 0\nprint(DATABASE_URL)\n", vm.Config{Getenv: func(k string) (string, bool) {
			return v, k == "DATABASE_URL"
		}})
		if err == nil || strings.Contains(err.Error(), "topsecret") {
			t.Errorf("DATABASE_URL=%q: %v", v, err)
		}
	}
}
