//go:build wasip1

// Command wc is the Job sample: a command module that counts the words of its input and prints
// the most frequent ones and the totals to stdout, so `wk logs job/wc` shows the result. Its
// input is the INPUT environment variable, followed by the files named in its arguments
// (mounted from a volume). TOP (default 10) bounds the words listed. Build it as a command:
//
//	GOOS=wasip1 GOARCH=wasm go build -o wc.wasm ./samples/job
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

func main() {
	text := os.Getenv("INPUT")
	for _, f := range os.Args[1:] {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "wc: read input: %v\n", err)
			os.Exit(1)
		}
		text += "\n" + string(b)
	}
	top := 10
	if s := os.Getenv("TOP"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			fmt.Fprintf(os.Stderr, "wc: TOP=%q: want a number >= 0\n", s)
			os.Exit(2)
		}
		top = n
	}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
	counts := map[string]int{}
	for _, w := range words {
		counts[w]++
	}
	distinct := make([]string, 0, len(counts))
	for w := range counts {
		distinct = append(distinct, w)
	}
	sort.Slice(distinct, func(i, j int) bool {
		a, b := distinct[i], distinct[j]
		if counts[a] != counts[b] {
			return counts[a] > counts[b]
		}
		return a < b
	})
	for _, w := range distinct[:min(top, len(distinct))] {
		fmt.Printf("%7d %s\n", counts[w], w)
	}
	fmt.Printf("total: %d words, %d distinct\n", len(words), len(distinct))
}
