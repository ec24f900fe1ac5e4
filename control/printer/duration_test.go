package printer

import (
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	const (
		s = time.Second
		m = time.Minute
		h = time.Hour
		d = 24 * time.Hour
		y = 365 * d
	)
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-2 * s, "<invalid>"},
		{-1500 * time.Millisecond, "0s"}, // int(-1.5) is -1: within the skew allowed
		{-1 * s, "0s"},
		{-999 * time.Millisecond, "0s"},
		{0, "0s"},
		{999 * time.Millisecond, "0s"},
		{5 * s, "5s"},
		{90 * s, "90s"},
		{119 * s, "119s"},
		{120 * s, "2m"},
		{121 * s, "2m1s"},
		{3*m + 20*s, "3m20s"},
		{9*m + 59*s, "9m59s"},
		{10 * m, "10m"},
		{10*m + 30*s, "10m"},
		{179 * m, "179m"},
		{3 * h, "3h"},
		{3*h + 4*m, "3h4m"},
		{7*h + 59*m, "7h59m"},
		{8 * h, "8h"},
		{8*h + 30*m, "8h"},
		{47 * h, "47h"},
		{48 * h, "2d"},
		{2*d + 3*h, "2d3h"},
		{7*d + 23*h, "7d23h"},
		{8 * d, "8d"},
		{5 * d, "5d"},
		{729 * d, "729d"},
		{730 * d, "2y"},
		{2*y + 30*d, "2y30d"},
		{7*y + 364*d, "7y364d"},
		{8 * y, "8y"},
		{8*y + 100*d, "8y"},
		{100 * y, "100y"},
	}
	for _, tc := range tests {
		t.Run(tc.d.String(), func(t *testing.T) {
			if got := HumanDuration(tc.d); got != tc.want {
				t.Errorf("HumanDuration(%v) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}
