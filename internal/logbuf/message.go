package logbuf

import (
	"strconv"
	"unicode/utf8"
)

// MaxMessage bounds the bytes of an error message a log line carries: a
// program's error built from what a client sent (`throw "bad input: " +
// req.body`) would otherwise make one line of megabytes, which log
// shippers split or drop, and which fills the log's buffer at once.
const MaxMessage = 8 << 10

// Message is msg as a log line carries it: cut at MaxMessage bytes (on a
// character's boundary), saying how many more there were.
func Message(msg string) string {
	if len(msg) <= MaxMessage {
		return msg
	}
	cut := MaxMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "… (" + strconv.Itoa(len(msg)-cut) + " more bytes)"
}
