package printer

import (
	"strconv"
	"time"
)

// HumanDuration renders d with two or three significant figures, exactly as Kubernetes'
// k8s.io/apimachinery/pkg/util/duration.HumanDuration does: "45s", "119s", "2m", "3m20s", "10m",
// "3h4m", "8h", "2d3h", "8d", "2y30d", "10y". A duration a second or less in the past of zero
// prints "0s" (clock skew); anything further negative prints "<invalid>".
func HumanDuration(d time.Duration) string {
	if seconds := int(d.Seconds()); seconds < -1 {
		return "<invalid>"
	} else if seconds < 0 {
		return "0s"
	} else if seconds < 60*2 {
		return strconv.Itoa(seconds) + "s"
	}
	minutes := int(d / time.Minute)
	if minutes < 10 {
		if s := int(d/time.Second) % 60; s != 0 {
			return strconv.Itoa(minutes) + "m" + strconv.Itoa(s) + "s"
		}
		return strconv.Itoa(minutes) + "m"
	} else if minutes < 60*3 {
		return strconv.Itoa(minutes) + "m"
	}
	hours := int(d / time.Hour)
	switch {
	case hours < 8:
		if m := int(d/time.Minute) % 60; m != 0 {
			return strconv.Itoa(hours) + "h" + strconv.Itoa(m) + "m"
		}
		return strconv.Itoa(hours) + "h"
	case hours < 48:
		return strconv.Itoa(hours) + "h"
	case hours < 24*8:
		if h := hours % 24; h != 0 {
			return strconv.Itoa(hours/24) + "d" + strconv.Itoa(h) + "h"
		}
		return strconv.Itoa(hours/24) + "d"
	case hours < 24*365*2:
		return strconv.Itoa(hours/24) + "d"
	case hours < 24*365*8:
		if dy := (hours / 24) % 365; dy != 0 {
			return strconv.Itoa(hours/24/365) + "y" + strconv.Itoa(dy) + "d"
		}
		return strconv.Itoa(hours/24/365) + "y"
	}
	return strconv.Itoa(hours/24/365) + "y"
}
