package printer

import (
	"fmt"
	"strings"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// jobColumns follow kubectl 1.28+: NAME, STATUS, COMPLETIONS, DURATION, AGE; the wide output
// adds CONTAINERS, IMAGES and SELECTOR.
func jobColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{nameCol(),
		col("Status", typeString, "Status of the job: Running, Complete, Failed or Suspended.", 0),
		col("Completions", typeString, "The desired number of successfully finished pods the job should be run with.", 0),
		col("Duration", typeString, "Time required to complete the job.", 0),
		ageCol(),
		col("Containers", typeString, "Names of each container in the template.", 1),
		col("Images", typeString, "Images referenced by each container in the template.", 1),
		col("Selector", typeString, "Labels of the pods of the job.", 1)}
}

func jobRow(j *api.Job, now time.Time) []any {
	completions := fmt.Sprintf("%d/%d", j.Status.Succeeded, ptrOr(j.Spec.Completions, 1))
	if j.Spec.Completions == nil {
		p := ptrOr(j.Spec.Parallelism, 1)
		completions = fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, p)
		if p <= 1 {
			completions = fmt.Sprintf("%d/1", j.Status.Succeeded)
		}
	}
	status := "Running"
	if t, ok := api.JobFinished(j); ok {
		status = t
	} else if j.Spec.Suspend != nil && *j.Spec.Suspend {
		status = "Suspended"
	}
	duration := ""
	if j.Status.StartTime != nil {
		end := now
		if j.Status.CompletionTime != nil {
			end = j.Status.CompletionTime.Time
		}
		duration = HumanDuration(end.Sub(j.Status.StartTime.Time))
	}
	var names, images []string
	for _, c := range j.Spec.Template.Spec.Containers {
		names, images = append(names, c.Name), append(images, c.Image)
	}
	sel := "controller-uid=" + j.UID
	if j.Spec.Selector != nil {
		if s, err := api.SelectorOf(j.Spec.Selector); err == nil {
			sel = s.String()
		}
	}
	return []any{j.Name, status, completions, duration, age(j.CreationTimestamp, now),
		strings.Join(names, ","), strings.Join(images, ","), sel}
}

func ptrOr(p *int32, d int32) int32 {
	if p == nil {
		return d
	}
	return *p
}

// moduleColumns show a module's tags and the digest its most recently pushed tag names.
func moduleColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{nameCol(),
		col("Tags", typeString, "The module's tags.", 0),
		col("Digest", typeString, "The digest of the most recently pushed tag (first 12 hex digits).", 0),
		ageCol()}
}

func moduleRow(m *api.Module, now time.Time) []any {
	var tags []string
	var last api.ModuleTag
	for _, t := range m.Spec.Tags {
		tags = append(tags, t.Name)
		if last.Name == "" || t.Pushed.After(last.Pushed.Time) {
			last = t
		}
	}
	digest, tagList := "<none>", "<none>"
	if len(tags) > 0 {
		tagList = strings.Join(tags, ",")
		digest = last.Digest
		if len(digest) > len("sha256:")+12 {
			digest = digest[:len("sha256:")+12]
		}
	}
	return []any{m.Name, tagList, digest, age(m.CreationTimestamp, now)}
}

// cronJobColumns follow kubectl 1.27+: NAME, SCHEDULE, TIMEZONE, SUSPEND, ACTIVE, LAST SCHEDULE,
// AGE; the wide output adds CONTAINERS, IMAGES and SELECTOR.
func cronJobColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{nameCol(),
		col("Schedule", typeString, "The schedule in Cron format.", 0),
		col("Timezone", typeString, "The time zone name for the given schedule.", 0),
		col("Suspend", typeString, "Whether the cron job is suspended.", 0),
		col("Active", typeInteger, "The number of currently running jobs.", 0),
		col("Last Schedule", typeString, "When the last job was scheduled.", 0),
		ageCol(),
		col("Containers", typeString, "Names of each container in the template.", 1),
		col("Images", typeString, "Images referenced by each container in the template.", 1),
		col("Selector", typeString, "Labels of the jobs of the cron job.", 1)}
}

func cronJobRow(cj *api.CronJob, now time.Time) []any {
	tz := "<none>"
	if cj.Spec.TimeZone != nil {
		tz = *cj.Spec.TimeZone
	}
	suspend := "False"
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		suspend = "True"
	}
	last := "<none>"
	if cj.Status.LastScheduleTime != nil {
		last = HumanDuration(now.Sub(cj.Status.LastScheduleTime.Time))
	}
	var names, images []string
	for _, c := range cj.Spec.JobTemplate.Spec.Template.Spec.Containers {
		names, images = append(names, c.Name), append(images, c.Image)
	}
	sel := "<none>"
	if s := cj.Spec.JobTemplate.Spec.Selector; s != nil {
		if ls, err := api.SelectorOf(s); err == nil {
			sel = ls.String()
		}
	}
	return []any{cj.Name, cj.Spec.Schedule, tz, suspend, int64(len(cj.Status.Active)), last,
		age(cj.CreationTimestamp, now), strings.Join(names, ","), strings.Join(images, ","), sel}
}
