package parse

import (
	"os"
	"strings"
	"testing"
)

// readGuideBlocks extracts the ```tova code blocks of a markdown file.
func readGuideBlocks(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var blocks []string
	var cur []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case !in && trimmed == "```tova":
			in = true
			cur = nil
		case in && trimmed == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n")+"\n")
		case in:
			cur = append(cur, line)
		}
	}
	return blocks, nil
}

func TestGuideBlocksParse(t *testing.T) {
	blocks, err := readGuideBlocks("../testdata/scaling-guide.md")
	if err != nil {
		t.Fatalf("guide: %v", err)
	}
	if len(blocks) < 20 {
		t.Fatalf("found only %d tova blocks", len(blocks))
	}
	for i, src := range blocks {
		f, err := parseFile("guide.tova", []byte(src))
		if err != nil {
			t.Errorf("block %d:\n%s\nerror: %v", i, src, err)
			continue
		}
		if testing.Verbose() {
			t.Logf("block %d:\n%s", i, Dump(f))
		}
	}
}
