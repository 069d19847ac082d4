package stdlib

import (
	"slices"
	"strings"

	"tova/vm"
)

// The colour and style functions of the reference's terminal.md: each
// wraps its text in an ANSI SGR sequence when the program's standard
// output is a terminal (Config.Terminal) and NO_COLOR is not set
// (no-color.org); otherwise the text comes back as it is, so that
// output piped to a file or another program holds no escape codes.
// The text may be any value; it is converted as interpolation does.

// ansiColors are the names color() takes, with their foreground codes.
var ansiColors = map[string]string{
	"red": "31", "green": "32", "yellow": "33", "blue": "34",
	"magenta": "35", "cyan": "36", "white": "37", "gray": "90",
}

func init() {
	reg("color", ps("text", "name"), bColor)
	for _, name := range []string{"red", "green", "yellow", "blue", "magenta", "cyan", "gray"} {
		reg(name, ps("text"), styled(name, ansiColors[name], "39"))
	}
	reg("bold", ps("text"), styled("bold", "1", "22"))
	reg("dim", ps("text"), styled("dim", "2", "22"))
	reg("underline", ps("text"), styled("underline", "4", "24"))
	reg("strikethrough", ps("text"), styled("strikethrough", "9", "29"))
}

// styled is the builtin that wraps its text between the SGR codes on
// and off (off resets that attribute alone, so styles nest).
func styled(name, on, off string) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return vm.Str(style(t, vm.ToString(arg(args, 0)), on, off)), nil
	}
}

func bColor(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	name, err := str("color", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	code, ok := ansiColors[strings.ToLower(name)]
	if !ok {
		names := make([]string, 0, len(ansiColors))
		for n := range ansiColors {
			names = append(names, n)
		}
		slices.Sort(names)
		return vm.Nil, valueErr("color: unknown color %q (the colors are %s)", name, strings.Join(names, ", "))
	}
	return vm.Str(style(t, vm.ToString(arg(args, 0)), code, "39")), nil
}

func style(t *vm.Thread, text, on, off string) string {
	if !t.In.Cfg.Terminal {
		return text
	}
	if v, set := t.In.Cfg.Getenv("NO_COLOR"); set && v != "" {
		return text
	}
	return "\x1b[" + on + "m" + text + "\x1b[" + off + "m"
}
