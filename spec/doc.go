// Package spec is the Tova conformance suite.
//
// The suite is data: small .tova programs grouped by feature in the
// subdirectories of this package, each stating its expected behaviour in
// comments (`// expect: line`, `// expect error: regexp`,
// `// expect runtime error: regexp`; see README.md). The test in
// spec_test.go compiles every program, runs it from source and again
// through the .tbc format (encode, decode, run), and requires both runs to
// print the same output and to match the expectations.
package spec
