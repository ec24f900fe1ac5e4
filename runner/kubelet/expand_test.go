package kubelet

import "testing"

// The cases follow Kubernetes' own (third_party/forked/golang/expansion/expand_test.go).
func TestExpandVars(t *testing.T) {
	vars := map[string]string{"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": ""}
	tests := []struct{ name, in, want string }{
		{"whole string", "$(VAR_A)", "A"},
		{"repeat", "$(VAR_A)-$(VAR_A)", "A-A"},
		{"beginning", "$(VAR_A)-1", "A-1"},
		{"middle", "___$(VAR_B)___", "___B___"},
		{"end", "___$(VAR_C)", "___C"},
		{"compound", "$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"},
		{"escaped reference", "$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"},
		{"double escape", "$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"},
		{"escaped then expanded", "$$$(VAR_A)", "$A"},
		{"value not expanded again", "$(VAR_REF)", "$(VAR_A)"},
		{"empty value", "x$(VAR_EMPTY)y", "xy"},
		{"undefined", "$(VAR_DNE)", "$(VAR_DNE)"},
		{"undefined among defined", "$(VAR_A)$(VAR_DNE)$(VAR_B)", "A$(VAR_DNE)B"},
		{"empty name", "$()", "$()"},
		{"not closed", "$(VAR_A", "$(VAR_A"},
		{"not closed after a reference", "$(VAR_A)$(VAR_B", "A$(VAR_B"},
		{"lone dollar at end", "foo$", "foo$"},
		{"dollar not a reference", "$VAR_A", "$VAR_A"},
		{"braces are not references", "${VAR_A}", "${VAR_A}"},
		{"no operator", "plain text", "plain text"},
		{"empty", "", ""},
		{"multibyte after dollar", "$é$(VAR_A)", "$é" + "A"},
		{"parens inside name", "$(VAR_A(B))", "$(VAR_A(B))"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := expandVars(tt.in, varMapping(vars)); got != tt.want {
				t.Errorf("expandVars(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestVarMappingOrder(t *testing.T) {
	first, second := map[string]string{"A": "1"}, map[string]string{"A": "2", "B": "3"}
	m := varMapping(first, second)
	for _, tt := range []struct{ name, in, want string }{
		{"first map wins", "A", "1"},
		{"falls through", "B", "3"},
		{"undefined", "C", "$(C)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := m(tt.in); got != tt.want {
				t.Errorf("mapping(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func BenchmarkExpandVars(b *testing.B) {
	m := varMapping(map[string]string{"POD_NAME": "web-1", "PORT": "8080"})
	for b.Loop() {
		_ = expandVars("--name=$(POD_NAME) --listen=:$(PORT) --keep=$$(PORT)", m)
	}
}
