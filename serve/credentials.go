package serve

// The reference's credential helpers, defined in every program:
// sign_jwt issues the tokens an auth block checks, and hash_password
// and verify_password keep passwords as salted PBKDF2 hashes in the
// reference's text format, so that hashes stored by either runtime
// verify in the other.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"tova/vm"
	"tova/vm/stdlib"
)

const (
	// passwordIterations is hash_password's PBKDF2 iteration count, the
	// reference's.
	passwordIterations = 100_000
	// passwordMaxIterations bounds the count verify_password accepts
	// from a stored hash: one made up to be costly (a billion rounds)
	// must not hold a request for minutes.
	passwordMaxIterations = 10_000_000
	// passwordSaltBytes and passwordHashBytes are the sizes
	// hash_password makes, the reference's.
	passwordSaltBytes = 16
	passwordHashBytes = 32
	// maxJWTTime is the latest exp a token may carry, the end of the
	// year 9999 (an auth block refuses a later one).
	maxJWTTime = 253402300799
)

func init() {
	vm.Register(
		&vm.Builtin{Name: "sign_jwt", Params: []string{"payload", "secret", "options"}, Fn: builtinSignJWT},
		&vm.Builtin{Name: "hash_password", Params: []string{"password"}, Fn: builtinHashPassword},
		&vm.Builtin{Name: "verify_password", Params: []string{"password", "stored"}, Fn: builtinVerifyPassword},
	)
}

// sign_jwt(payload, secret?, options?) is an HS256 token of payload's
// claims, with iat (now, in Unix seconds) set, exp set by the options
// `expires_in` (a Duration, or seconds) or `exp` (Unix seconds), and,
// on a server whose auth block names an issuer or an audience, iss and
// aud unless payload has them: the token its auth block accepts. The
// secret defaults to the server's auth block's, then to AUTH_SECRET or
// JWT_SECRET from the environment; there is no built-in one. Options may
// come second when the secret is left out: sign_jwt(claims, { expires_in:
// 1.hour }).
func builtinSignJWT(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) == 0 || len(args) > 3 {
		return vm.Nil, vm.TypeErrorf("sign_jwt(payload, secret, options) takes 1 to 3 arguments, got %d", len(args))
	}
	secretArg, options := vm.Nil, vm.Nil
	if len(args) > 1 {
		secretArg = args[1]
	}
	if len(args) > 2 {
		options = args[2]
	} else if secretArg.Kind() == vm.KObject {
		secretArg, options = vm.Nil, secretArg
	}
	claims, err := jwtClaims(t, args[0])
	if err != nil {
		return vm.Nil, err
	}
	auth := serverAuth(t)
	secret, err := signingSecret(t, auth, secretArg)
	if err != nil {
		return vm.Nil, err
	}
	now := time.Now().Unix()
	claims["iat"] = now
	if err := expiry(claims, options, now); err != nil {
		return vm.Nil, err
	}
	if err := checkClaimTimes(claims); err != nil {
		return vm.Nil, err
	}
	if auth != nil {
		if _, ok := claims["iss"]; !ok && auth.issuer != "" {
			claims["iss"] = auth.issuer
		}
		if _, ok := claims["aud"]; !ok && auth.audience != "" {
			claims["aud"] = auth.audience
		}
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return vm.Nil, vm.Errorf("ValueError", "sign_jwt: %v", err)
	}
	return vm.Str(token), nil
}

// jwtClaims is payload as JWT claims: it must encode as a JSON object.
func jwtClaims(t *vm.Thread, payload vm.Value) (jwt.MapClaims, error) {
	b, err := stdlib.AppendJSON(t, nil, payload)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, vm.TypeErrorf("sign_jwt: the payload must be an object of claims ({ sub: user.id, role: \"admin\" }), got %s", vm.TypeName(payload))
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber() // an Int claim stays exact
	claims := jwt.MapClaims{}
	if err := d.Decode(&claims); err != nil {
		return nil, vm.Errorf("ValueError", "sign_jwt: the payload: %v", err)
	}
	return claims, nil
}

// serverAuth is the jwt auth block of the server t runs for, nil if
// there is none (or t runs no server: tova run).
func serverAuth(t *vm.Thread) *authSettings {
	if s, ok := t.In.Host.(*Server); ok && s.auth != nil && !s.auth.apiKey {
		return s.auth
	}
	return nil
}

// signingSecret is sign_jwt's secret: arg if given, else the auth
// block's, else the environment's.
func signingSecret(t *vm.Thread, auth *authSettings, arg vm.Value) ([]byte, error) {
	var secret string
	switch {
	case arg.Kind() == vm.KString:
		secret = arg.AsString()
	case !arg.IsNil():
		return nil, vm.TypeErrorf("sign_jwt: the secret must be a String, got %s", vm.TypeName(arg))
	case auth != nil:
		return auth.secret, nil
	default:
		for _, name := range authSecretEnvs {
			if s, ok := t.In.Cfg.Getenv(name); ok && s != "" {
				secret = s
				break
			}
		}
		if secret == "" {
			return nil, vm.Errorf("ValueError", "sign_jwt: no secret: give one (sign_jwt(claims, secret)), declare an auth { secret } block, or set AUTH_SECRET in the environment")
		}
	}
	if len(secret) < authMinSecret {
		return nil, vm.Errorf("ValueError", "sign_jwt: the secret is %d bytes: it must be at least %d (a random string; `openssl rand -hex 32` makes one)", len(secret), authMinSecret)
	}
	return []byte(secret), nil
}

// expiry sets claims' exp from sign_jwt's options.
func expiry(claims jwt.MapClaims, options vm.Value, now int64) error {
	if options.IsNil() {
		return nil
	}
	if options.Kind() != vm.KObject {
		return vm.TypeErrorf("sign_jwt: the options must be an object ({ expires_in: 1.hour }), got %s", vm.TypeName(options))
	}
	o := options.AsObject()
	for _, k := range o.Keys() {
		if k != "expires_in" && k != "exp" {
			return vm.Errorf("ValueError", "sign_jwt: unknown option %s (expected expires_in or exp)", k)
		}
	}
	exp := int64(0)
	set := false
	if v, ok := o.Get("expires_in"); ok && !v.IsNil() {
		d, err := duration(v, time.Second)
		if err != nil {
			return vm.Errorf("ValueError", "sign_jwt: expires_in: %v", err)
		}
		exp, set = now+int64(math.Ceil(d.Seconds())), true
	}
	if v, ok := o.Get("exp"); ok && !v.IsNil() {
		switch v.Kind() {
		case vm.KInt:
			exp = v.AsInt()
		case vm.KFloat:
			if f := v.AsFloat(); f == math.Trunc(f) && math.Abs(f) <= maxJWTTime {
				exp = int64(f)
				break
			}
			fallthrough
		default:
			return vm.Errorf("ValueError", "sign_jwt: exp: expected a time in whole Unix seconds, got %s", vm.Repr(v))
		}
		set = true
	}
	if !set {
		return nil
	}
	if exp < 0 || exp > maxJWTTime {
		return vm.Errorf("ValueError", "sign_jwt: exp %d is outside the years 1970 to 9999", exp)
	}
	claims["exp"] = exp
	return nil
}

// checkClaimTimes refuses an exp or nbf written in the claims that is
// not a time in whole Unix seconds from 1970 to 9999: the server's own
// `with auth` would refuse every token signed with it.
func checkClaimTimes(claims jwt.MapClaims) error {
	for _, name := range []string{"exp", "nbf"} {
		v, ok := claims[name]
		if !ok {
			continue
		}
		n, isNum := v.(json.Number)
		if !isNum {
			if _, set := v.(int64); set {
				continue // from the options, checked there
			}
			return vm.TypeErrorf("sign_jwt: the claim %s must be a time in Unix seconds, got %s", name, jsonKind(v))
		}
		f, err := n.Float64()
		if err != nil || f != math.Trunc(f) || f < 0 || f > maxJWTTime {
			hint := ""
			if f > maxJWTTime && f/1000 <= maxJWTTime {
				hint = " (Date.now() gives milliseconds: divide by 1000, or give the option expires_in)"
			}
			return vm.Errorf("ValueError", "sign_jwt: the claim %s %s is not a time in whole Unix seconds from 1970 to 9999%s", name, n, hint)
		}
	}
	return nil
}

// jsonKind names the kind of a decoded JSON value.
func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "a String"
	case bool:
		return "a Bool"
	case nil:
		return "nil"
	case []any:
		return "a List"
	}
	return "an Object"
}

// hash_password(password) is "pbkdf2:100000:<salt>:<hash>": PBKDF2 with
// HMAC-SHA256, 100 000 iterations, a random 16-byte salt and a 32-byte
// hash, both in hex (the reference's format). It takes tens of
// milliseconds, on purpose, with the server's other requests running
// meanwhile, as Tova code that runs as long would (see pbkdf2SHA256).
func builtinHashPassword(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) != 1 || args[0].Kind() != vm.KString {
		return vm.Nil, vm.TypeErrorf("hash_password(password): expected a String password, got %s", argKinds(args))
	}
	salt := make([]byte, passwordSaltBytes)
	_, _ = rand.Read(salt) // (crypto/rand never fails)
	hash, err := pbkdf2SHA256(t, args[0].AsString(), salt, passwordIterations, passwordHashBytes)
	if err != nil {
		return vm.Nil, err
	}
	return vm.Str(fmt.Sprintf("pbkdf2:%d:%x:%x", passwordIterations, salt, hash)), nil
}

// pbkdf2SHA256 is PBKDF2 with HMAC-SHA256 (RFC 8018 §5.2), as
// crypto/pbkdf2 computes it, polling t every few dozen rounds as a
// loop of Tova code polls at its backward jumps: tens of milliseconds
// of hashing thus take turns for the CPUs (a burst of logins leaves
// health checks answered at once, where they waited behind every
// hash), and stop at the request's deadline (a stored hash of ten
// million rounds ran on past it). Its error is the thread's
// cancellation.
func pbkdf2SHA256(t *vm.Thread, password string, salt []byte, iter, keyLen int) ([]byte, error) {
	const pollRounds = 64
	pbkdf2Rounds.Add(int64(iter))
	prf := hmac.New(sha256.New, []byte(password))
	size := prf.Size()
	dk := make([]byte, 0, (keyLen+size-1)/size*size)
	u := make([]byte, 0, size)
	var index [4]byte
	for block := uint32(1); len(dk) < keyLen; block++ {
		prf.Reset()
		prf.Write(salt)
		binary.BigEndian.PutUint32(index[:], block)
		prf.Write(index[:])
		dk = prf.Sum(dk)
		sum := dk[len(dk)-size:]
		u = append(u[:0], sum...)
		for n := 2; n <= iter; n++ {
			prf.Reset()
			prf.Write(u)
			u = prf.Sum(u[:0])
			subtle.XORBytes(sum, sum, u)
			if n%pollRounds == 0 {
				if err := t.PollWork(pollRounds); err != nil {
					return nil, err
				}
			}
		}
	}
	return dk[:keyLen], nil
}

// verify_password(password, stored) reports whether password is the one
// stored holds, a hash_password result (any iteration count up to ten
// million, any salt and hash length); a stored text of another form is
// false.
func builtinVerifyPassword(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	// No stored hash (a user who signed up another way, a nil column),
	// or no password (a login that left it out): nothing matches, as a
	// text of another form.
	for i := range args {
		if x, ok := vm.OptionValue(args[i]); ok {
			args[i] = x // Some(hash) is the hash (an Option column), None none
		}
	}
	none := func(v vm.Value) bool { return v.IsNil() || vm.VariantOf(v) == vm.NoneType }
	text := func(v vm.Value) bool { return v.Kind() == vm.KString || none(v) }
	// Either fails after the work a real check does: an answer 30 times
	// quicker told a login's caller that the user has no password, or
	// does not exist (verify_password(pw, user?.hash)).
	decoy := func() (vm.Value, error) {
		if _, err := pbkdf2SHA256(t, "", decoySalt[:], passwordIterations, passwordHashBytes); err != nil {
			return vm.Nil, err
		}
		return vm.False, nil
	}
	if len(args) == 2 && text(args[0]) && text(args[1]) && (none(args[0]) || none(args[1])) {
		return decoy()
	}
	if len(args) != 2 || args[0].Kind() != vm.KString || args[1].Kind() != vm.KString {
		return vm.Nil, vm.TypeErrorf("verify_password(password, stored): expected two Strings, got %s", argKinds(args))
	}
	iter, salt, want, ok := parseStoredPassword(args[1].AsString())
	if !ok {
		return decoy()
	}
	got, err := pbkdf2SHA256(t, args[0].AsString(), salt, iter, len(want))
	if err != nil {
		return vm.Nil, err
	}
	return vm.Bool(subtle.ConstantTimeCompare(got, want) == 1), nil
}

// pbkdf2Rounds counts the PBKDF2 iterations done (what a check costs,
// for the tests).
var pbkdf2Rounds atomic.Int64

// decoySalt is the salt of the work verify_password does for nothing.
var decoySalt [passwordSaltBytes]byte

// parseStoredPassword reads "pbkdf2:<iterations>:<salt hex>:<hash hex>".
func parseStoredPassword(s string) (iter int, salt, hash []byte, ok bool) {
	parts := strings.Split(s, ":")
	if len(parts) != 4 || parts[0] != "pbkdf2" {
		return 0, nil, nil, false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > passwordMaxIterations {
		return 0, nil, nil, false
	}
	salt, err1 := hex.DecodeString(parts[2])
	hash, err2 := hex.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(salt) == 0 || len(hash) == 0 || len(hash) > 64 {
		return 0, nil, nil, false
	}
	return iter, salt, hash, true
}

// argKinds names the kinds of args, for an error.
func argKinds(args []vm.Value) string {
	if len(args) == 0 {
		return "no arguments"
	}
	kinds := make([]string, len(args))
	for i, a := range args {
		kinds[i] = vm.TypeName(a)
	}
	return strings.Join(kinds, ", ")
}
