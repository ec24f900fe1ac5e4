package main

import (
	"strings"
	"testing"
)

const nightlyCronJob = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  timeZone: Europe/Paris
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: report
            image: report:v1
`

// TestCronJobCommands: apply and get (short name, wide) of a CronJob.
func TestCronJobCommands(t *testing.T) {
	tc := startCluster(t)
	if out := tc.mustWK(t, "apply", "-f", tc.file(t, "cj.yaml", nightlyCronJob)); out != "cronjob.batch/nightly created\n" {
		t.Fatalf("apply: %q", out)
	}
	out := tc.mustWK(t, "get", "cj")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE" ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "nightly 0 3 * * * Europe/Paris False 0 <none> ") {
		t.Fatalf("get cj:\n%s", out)
	}
	out = tc.mustWK(t, "get", "cronjobs", "-o", "wide")
	if h := strings.Join(strings.Fields(strings.Split(out, "\n")[0]), " "); !strings.HasSuffix(h, "AGE CONTAINERS IMAGES SELECTOR") ||
		!strings.Contains(out, "report:v1") {
		t.Fatalf("get cronjobs -o wide:\n%s", out)
	}
}
