package serve

import (
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/net/http/httpguts"

	"tova/netio"
	"tova/vm"
)

// corsKeys are the keys of a cors block.
var corsKeys = []string{"origins", "methods", "headers", "expose_headers", "credentials", "max_age"}

// The cors block's defaults: the reference's, with X-Request-ID allowed
// in and exposed, so that a page can send its own id and read the
// server's, X-Tova-CSRF allowed in, which the CSRF check (csrf.go)
// asks of a page's POST, and Idempotency-Key allowed in and
// X-Idempotent-Replayed exposed (idempotency.go), and Retry-After,
// which a 429 or a 503 carries, exposed too (not one a page reads
// without).
var (
	corsMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}
	corsHeaders = []string{"Content-Type", "Authorization", "X-Request-ID", csrfHeader, idempotencyHeader, authDefaultHeader}
	corsExpose  = []string{"X-Request-ID", idempotencyReplayed, "Retry-After"}
	corsMaxAge  = 86400 * time.Second
)

// readCORS reads a cors block's value v, declared at at. A key missing
// takes its default; origins defaults to "*" (any), as in the reference.
// An empty origins list lets no page call: it returns nil, no CORS.
func readCORS(log zerolog.Logger, at string, v vm.Value) (*netio.CORS, error) {
	c := &netio.CORS{Origins: []string{"*"}, Methods: corsMethods, Headers: corsHeaders, Expose: corsExpose, MaxAge: corsMaxAge}
	o, err := blockSettings("cors", at, v)
	if err != nil {
		return nil, err
	}
	list := func(key string, dst *[]string) error {
		x, ok := o.Get(key)
		if !ok {
			return nil
		}
		l, err := textList(x)
		if err != nil {
			return fmt.Errorf("%s: cors.%s: %v", at, key, err)
		}
		*dst = l
		return nil
	}
	for _, k := range []struct {
		key string
		dst *[]string
	}{{"origins", &c.Origins}, {"methods", &c.Methods}, {"headers", &c.Headers}, {"expose_headers", &c.Expose}} {
		if err := list(k.key, k.dst); err != nil {
			return nil, err
		}
	}
	// A name that is not an HTTP token would make browsers fail every
	// preflight. (Checked as written: the message quotes what the
	// program says, not the method upper-cased.)
	for _, k := range []struct {
		key   string
		names []string
	}{{"methods", c.Methods}, {"headers", c.Headers}, {"expose_headers", c.Expose}} {
		for _, n := range k.names {
			if n != "*" && !httpguts.ValidHeaderFieldName(n) {
				return nil, fmt.Errorf("%s: cors.%s: %q is not a %s name (letters, digits and !#$%%&'*+-.^_`|~)", at, k.key, n, map[bool]string{true: "method", false: "header"}[k.key == "methods"])
			}
		}
	}
	for i, m := range c.Methods {
		c.Methods[i] = strings.ToUpper(m)
	}
	for _, org := range c.Origins {
		if org == "*" {
			continue
		}
		if err := netio.CheckOrigin(org); err != nil {
			return nil, fmt.Errorf("%s: cors.origins: %v", at, err)
		}
	}
	if _, err := blockBool("cors", at, o, "credentials", &c.Credentials); err != nil {
		return nil, err
	}
	if x, ok := o.Get("max_age"); ok {
		d, err := duration(x, time.Second)
		if err == nil && d < 0 {
			err = fmt.Errorf("a negative max_age %s", vm.Repr(x))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: cors.max_age: %v", at, err)
		}
		c.MaxAge = d
	}
	if len(c.Origins) == 0 {
		// No page may call: the server answers as one without a cors
		// block (a server's own block so opts out of the top-level
		// one).
		return nil, nil
	}
	for _, org := range c.Origins {
		if org == "*" && c.Credentials {
			log.Warn().Str("at", at).Msg(`cors: credentials with origins "*" lets every site make requests with the user's cookies; list the origins allowed`)
			break
		}
	}
	return c, nil
}

// textList reads a list of non-empty texts, or one text, trimming
// spaces (as `env("X") |> split(",")` leaves them).
func textList(v vm.Value) ([]string, error) {
	var elems []vm.Value
	switch v.Kind() {
	case vm.KString:
		elems = []vm.Value{v}
	case vm.KArray:
		elems = v.AsArray().Elems
	default:
		return nil, fmt.Errorf("expected a List of Strings, got %s", vm.Repr(v))
	}
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		if e.Kind() != vm.KString {
			return nil, fmt.Errorf("expected a List of Strings, got %s in it", vm.Repr(e))
		}
		s := strings.TrimSpace(e.AsString())
		if s == "" {
			if len(elems) == 1 {
				// (env("ALLOWED_ORIGINS") |> split(",") of a variable
				// set to "")
				return nil, fmt.Errorf("an empty String in %s (is the environment variable it reads set to an empty value?)", vm.Repr(v))
			}
			return nil, fmt.Errorf("an empty String in %s", vm.Repr(v))
		}
		out = append(out, s)
	}
	return out, nil
}
