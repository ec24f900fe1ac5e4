package sandbox

import (
	"bytes"
	"testing"
)

func TestLinearMemory(t *testing.T) {
	const page = 1 << 16 // sizes from minMapped up, so that the mapping is tested where there is one
	tests := []struct {
		name string
		run  func(t *testing.T, m *linearMemory)
	}{
		{"grows in place and keeps contents", func(t *testing.T, m *linearMemory) {
			m.limit = 8 * page
			b := m.Allocate(minMapped, 1000*page).Reallocate(page)
			b[10] = 7
			b = m.Reallocate(4 * page)
			if len(b) != 4*page || b[10] != 7 || !bytes.Equal(b[page:], make([]byte, 3*page)) {
				t.Fatalf("grown memory: len %d, b[10]=%d", len(b), b[10])
			}
			if m.size.Load() != 4*page {
				t.Fatalf("size = %d", m.size.Load())
			}
		}},
		{"growth past the limit kills", func(t *testing.T, m *linearMemory) {
			m.limit = 2 * page
			m.Allocate(minMapped, 1000*page).Reallocate(page)
			defer func() {
				if r := recover(); r != errOutOfMemory || !m.oom {
					t.Fatalf("recovered %v, oom %v; want errOutOfMemory", r, m.oom)
				}
			}()
			m.Reallocate(3 * page)
		}},
		{"minimum above the limit is noted, not fatal", func(t *testing.T, m *linearMemory) {
			m.limit = page
			if b := m.Allocate(minMapped, 1000*page).Reallocate(2 * page); len(b) != 2*page || !m.overLimit {
				t.Fatalf("len %d, overLimit %v", len(b), m.overLimit)
			}
		}},
		{"small memory is a slice", func(t *testing.T, m *linearMemory) {
			if b := m.Allocate(page, 1000*page).Reallocate(page); len(b) != page || m.mapping != nil {
				t.Fatalf("len %d, mapped %v", len(b), m.mapping != nil)
			}
		}},
		{"past the reservation continues in a slice", func(t *testing.T, m *linearMemory) {
			m.reserveAt = 2 * page
			b := m.Allocate(minMapped, 1000*page).Reallocate(page)
			b[1] = 9
			b = m.Reallocate(5 * page)
			if len(b) != 5*page || b[1] != 9 || m.mapping != nil {
				t.Fatalf("len %d, b[1]=%d, still mapped %v", len(b), b[1], m.mapping != nil)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &linearMemory{}
			defer m.release()
			tt.run(t, m)
		})
	}
}
