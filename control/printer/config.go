package printer

import (
	"time"

	"github.com/wasmkube/wasmkube/control/api"
)

// configMapColumns follow kubectl's ConfigMap columns.
func configMapColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{nameCol(),
		col("Data", typeInteger, "Data contains the configuration data.", 0),
		ageCol()}
}

// configMapRow counts the keys of data and binaryData together, as kubectl does.
func configMapRow(c *api.ConfigMap, now time.Time) []any {
	return []any{c.Name, int64(len(c.Data) + len(c.BinaryData)), age(c.CreationTimestamp, now)}
}

// secretColumns follow kubectl's Secret columns.
func secretColumns() []api.TableColumnDefinition {
	return []api.TableColumnDefinition{nameCol(),
		col("Type", typeString, "The type of the secret", 0),
		col("Data", typeInteger, "Data contains the secret data.", 0),
		ageCol()}
}

func secretRow(s *api.Secret, now time.Time) []any {
	return []any{s.Name, s.Type, int64(len(s.Data)), age(s.CreationTimestamp, now)}
}
