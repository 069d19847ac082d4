package serve

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"tova/bytecode"

	"tova/vm"
)

// tlsSettings are a server's tls block keys: the paths of its
// certificate (chain) and private key, PEM files read at start-up. The
// program's top-level block applies to every server; a server's own
// block's keys override it. Relative paths are relative to the working
// directory, as the reference's Bun.file takes them.
type tlsSettings struct {
	cert, key tlsFile
	block     string // where the first tls block is declared
}

// tlsFile is one key's path and the block that gave it (value: where
// the key's value is, for errors about the file, else the block).
type tlsFile struct {
	path, at, value string
}

// where is where an error about the file is said.
func (f tlsFile) where() string {
	if f.value != "" {
		return f.value
	}
	return f.at
}

// placeKeys says where the values of the keys the tls block c, declared
// at at in file, gave are.
func (t *tlsSettings) placeKeys(file, at string, c *bytecode.Config) {
	for k, f := range map[string]*tlsFile{"cert": &t.cert, "key": &t.key} {
		if p, ok := c.KeyPos(k); ok && f.at == at {
			f.value = posAt(file, p)
		}
	}
}

// tlsKeys are the keys a tls block may hold.
var tlsKeys = []string{"cert", "key"}

// apply reads the tls block v declared at at. A key given but nil is
// most often an unset environment variable (`cert: env("TLS_CERT")`):
// serving plain HTTP instead, or failing later on an empty path, would
// hide it.
func (t *tlsSettings) apply(at string, v vm.Value) error {
	if v.Kind() != vm.KObject {
		return fmt.Errorf("%s: tls: expected a block of cert and key, got %s", at, vm.Repr(v))
	}
	if t.block == "" {
		t.block = at
	}
	o := v.AsObject()
	for _, k := range tlsKeys {
		x, ok := o.Get(k)
		if !ok {
			continue
		}
		switch {
		case x.IsNil():
			return fmt.Errorf("%s: tls.%s is nil: is the environment variable it reads set?", at, k)
		case x.Kind() != vm.KString:
			return fmt.Errorf("%s: tls.%s: expected the path of a PEM file (a String), got %s", at, k, vm.Repr(x))
		case strings.TrimSpace(x.AsString()) == "":
			return fmt.Errorf("%s: tls.%s is empty: expected the path of a PEM file", at, k)
		}
		f := tlsFile{path: x.AsString(), at: at}
		if k == "cert" {
			t.cert = f
		} else {
			t.key = f
		}
	}
	return nil
}

// whole reports a tls setting given one of its keys only, or neither
// (an empty block), once every
// block has given its own (a server's keys override the program's, one
// by one): said of the block that gave the other.
func (t *tlsSettings) whole() error {
	if t.block != "" && t.cert.at == "" && t.key.at == "" {
		return fmt.Errorf("%s: tls: the block gives neither cert nor key: it needs both, the paths of PEM files (the server would serve plain HTTP)", t.block)
	}
	if (t.cert.at == "") == (t.key.at == "") {
		return nil
	}
	missing, at := "key", t.cert.at
	if t.cert.at == "" {
		missing, at = "cert", t.key.at
	}
	return fmt.Errorf("%s: tls.%s is missing: a tls block needs cert and key, the paths of PEM files (here, or in a server's own tls block)", at, missing)
}

// config loads the certificate and key: nil without a tls block. Each
// error names the key at fault and the block that gave it.
func (t *tlsSettings) config() (*tls.Config, error) {
	if err := t.whole(); err != nil {
		return nil, err
	}
	if t.cert.at == "" {
		return nil, nil
	}
	certPEM, err := t.cert.read("cert")
	if err != nil {
		return nil, err
	}
	keyPEM, err := t.key.read("key")
	if err != nil {
		return nil, err
	}
	if err := checkCertPEM(certPEM); err != nil {
		return nil, fmt.Errorf("%s: tls.cert: %s: %v", t.cert.where(), t.cert.path, err)
	}
	if err := checkKeyPEM(keyPEM); err != nil {
		return nil, fmt.Errorf("%s: tls.key: %s: %v", t.key.where(), t.key.path, err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// Both parse: the key is not the certificate's.
		return nil, fmt.Errorf("%s: tls.key: %s does not match the certificate in %s (%s)", t.key.where(), t.key.path, t.cert.path, strings.TrimPrefix(err.Error(), "tls: "))
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}}, nil
}

// read reads the file of key k. A value that holds PEM text rather than
// a path (platforms often hand a certificate and its key over in
// environment variables) is refused without being quoted: it may be the
// private key.
func (f tlsFile) read(k string) ([]byte, error) {
	if strings.Contains(f.path, "-----BEGIN") || strings.ContainsAny(f.path, "\r\n") {
		return nil, fmt.Errorf("%s: tls.%s: expected the path of a PEM file, got PEM text (%d bytes; not shown): write it to a file and give its path", f.where(), k, len(f.path))
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said already
		}
		return nil, fmt.Errorf("%s: tls.%s: cannot read %s: %v", f.where(), k, f.path, err)
	}
	return b, nil
}

// checkCertPEM says what is wrong with a certificate file: it holds no
// PEM certificate, or one that does not parse.
func checkCertPEM(b []byte) error {
	n := 0
	var other []string
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			other = append(other, block.Type)
			continue
		}
		n++
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("certificate %d does not parse: %v", n, strings.TrimPrefix(err.Error(), "x509: "))
		}
	}
	if n == 0 {
		return noPEM("CERTIFICATE", other)
	}
	return nil
}

// checkKeyPEM says what is wrong with a private key file: it holds no
// PEM private key, or one that does not parse.
func checkKeyPEM(b []byte) error {
	var other []string
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "PRIVATE KEY" && !strings.HasSuffix(block.Type, " PRIVATE KEY") {
			other = append(other, block.Type)
			continue
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] == "4,ENCRYPTED" {
			return errors.New("the private key is encrypted: the server needs it without a passphrase")
		}
		if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			return nil
		}
		if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
			return nil
		}
		if _, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
			return nil
		}
		return fmt.Errorf("the %s does not parse (expected PKCS #8, PKCS #1 or SEC 1)", strings.ToLower(block.Type))
	}
	return noPEM("PRIVATE KEY", other)
}

// noPEM is the error of a file with no PEM block of type want; other are
// the types of the blocks it holds.
func noPEM(want string, other []string) error {
	if len(other) == 0 {
		return fmt.Errorf("no PEM data (expected -----BEGIN %s-----)", want)
	}
	msg := fmt.Sprintf("no %s PEM block, only %s", want, strings.Join(other, ", "))
	if want == "CERTIFICATE" && strings.HasSuffix(other[0], "PRIVATE KEY") || want == "PRIVATE KEY" && other[0] == "CERTIFICATE" {
		msg += ": are cert and key swapped?"
	}
	return errors.New(msg)
}
