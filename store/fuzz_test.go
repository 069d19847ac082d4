package store_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"tova/store"
	"tova/vm"
)

// fuzzModelApp stores a row of every kind of field from the values its
// environment gives, reads it back by id and by one of its fields, and
// prints "done" if it read what it stored.
const fuzzModelApp = `
model Doc {
  s: String
  n: Int
  f: Float
  meta: Object
  tags: [String]
  maybe: Option<String>
}
s = env("S") |> unwrap()
n = to_int(env("N") |> unwrap())
f = to_float(env("F") |> unwrap())
meta = json_parse(env("META") |> unwrap()) |> unwrapOr({})
tags = env("TAGS") |> unwrap() |> split(",")
d = Doc.create({ s, n, f, meta, tags, maybe: Some(s) })
back = Doc.find(d.id)
if d != back { print("read back {back}, stored {d}") }
if Doc.count({ s }) < 1 { print("not found by its s") }
print("done")
`

// FuzzModelRoundTrip stores arbitrary strings, numbers, objects and
// lists in a model's row, on each engine: the store either keeps the
// row and gives back the same values (NaN aside: it equals nothing), or
// refuses it with a Tova error that says why (no NUL in text, which
// PostgreSQL cannot store, for one), never an internal error or a Go
// panic.
func FuzzModelRoundTrip(f *testing.F) {
	type target struct {
		d  testDB
		db *store.DB
	}
	prog := load(f, "fuzz.tova", []byte(fuzzModelApp))
	var targets []target
	for _, e := range engines(f) {
		d := freshDB(f, e)
		db, err := store.Open(context.Background(), d.config())
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { db.Close() })
		targets = append(targets, target{d, db})
	}
	f.Add("hello", int64(42), 1.5, `{"a":[1,2,{"b":null}],"c":"d"}`, "x,y,z")
	f.Add("", int64(math.MinInt64), math.Copysign(0, -1), `{}`, "")
	f.Add("nul\x00byte", int64(math.MaxInt64), math.MaxFloat64, `{"big":12345678901234567890,"f":1e308}`, "a\x00b")
	f.Add("\xff\xfe not utf-8", int64(-1), math.SmallestNonzeroFloat64, `{"k":"\u0000\ud800"}`, "\xff,é,😀")
	f.Add("'; DROP TABLE docs; --", int64(0), math.Inf(1), `[1]`, ",")
	f.Add("x", int64(1), math.NaN(), `{"a":{"b":{"c":[[[]]]}}}`, "x")
	f.Fuzz(func(t *testing.T, s string, n int64, fl float64, meta string, tags string) {
		env := map[string]string{"S": s, "N": strconv.FormatInt(n, 10), "F": strconv.FormatFloat(fl, 'g', -1, 64), "META": meta, "TAGS": tags}
		for _, tg := range targets {
			var out bytes.Buffer
			in := prog.NewInstance(vm.Config{Stdout: &out, Stderr: &out, Dir: tg.d.dir,
				Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
			store.Use(in, tg.db)
			th := in.NewThread(context.Background())
			_, err := th.RunMain()
			th.Release()
			if err != nil {
				var ve *vm.Error
				if !errors.As(err, &ve) || ve.Kind == "InternalError" || ve.Msg == "" {
					t.Fatalf("%s: %T %v", tg.d.adapter, err, err)
				}
				continue
			}
			if got := out.String(); got != "done\n" && !(math.IsNaN(fl) && strings.HasPrefix(got, "read back")) {
				t.Fatalf("%s: %s", tg.d.adapter, got)
			}
		}
	})
}
