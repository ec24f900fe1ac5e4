package interrupt

import (
	"cmp"
	"encoding/binary"
	"slices"
)

// secData is the data section's id.
const secData = 11

// maxDataGap is the longest run of zeros coalesceData writes to join two segments.
const maxDataGap = 64

// dataSegment is an active segment of memory 0 at a constant offset.
type dataSegment struct {
	offset uint32
	bytes  []byte
	owned  bool // bytes is a copy coalesceData may append to, not a slice of the module
}

// coalesceData merges the data segments of a data section into as few as it can, filling the
// short gaps between them with the zeros fresh memory holds anyway. Go's linker writes a
// segment for every run of non-zero data (53,000 for the hello sample), and instantiation pays
// per segment: merged, a Go guest instantiates in a fraction of the time. The section is
// returned unchanged unless every segment is active, in memory 0, at an i32.const offset, and
// no two overlap (then their order does not matter); with a data count section (bulk memory
// instructions name segments by index) nothing is merged.
func coalesceData(body []byte) []byte {
	r := reader{b: body}
	n := r.u32()
	segs := make([]dataSegment, 0, n)
	for range n {
		if r.u32() != 0 || r.byte() != 0x41 { // active in memory 0, i32.const
			return body
		}
		offset := r.s32()
		if r.byte() != opEnd {
			return body
		}
		segs = append(segs, dataSegment{offset: uint32(offset), bytes: r.bytes(int(r.u32()))})
		if r.err != nil {
			return body
		}
	}
	if !r.done() || len(segs) < 2 {
		return body
	}
	slices.SortStableFunc(segs, func(a, b dataSegment) int { return cmp.Compare(a.offset, b.offset) })
	merged := segs[:1:1]
	for _, s := range segs[1:] {
		last := &merged[len(merged)-1]
		end := uint64(last.offset) + uint64(len(last.bytes))
		switch {
		case uint64(s.offset) < end:
			return body // overlapping segments: their order matters
		case uint64(s.offset)-end <= maxDataGap:
			if !last.owned {
				last.bytes, last.owned = slices.Clip(slices.Clone(last.bytes)), true
			}
			last.bytes = append(last.bytes, make([]byte, uint64(s.offset)-end)...)
			last.bytes = append(last.bytes, s.bytes...)
		default:
			merged = append(merged, s)
		}
	}
	out := binary.AppendUvarint(make([]byte, 0, len(body)+len(body)/2), uint64(len(merged)))
	for _, s := range merged {
		out = append(out, 0, 0x41)
		out = appendSLEB(out, int64(int32(s.offset)))
		out = append(out, opEnd)
		out = binary.AppendUvarint(out, uint64(len(s.bytes)))
		out = append(out, s.bytes...)
	}
	return out
}

// s32 reads a signed LEB128 of up to 32 bits.
func (r *reader) s32() int32 {
	var v int64
	for shift := 0; shift < 35; shift += 7 {
		b := r.byte()
		v |= int64(b&0x7F) << shift
		if b&0x80 == 0 {
			if shift < 57 && b&0x40 != 0 {
				v |= -1 << (shift + 7)
			}
			return int32(v)
		}
	}
	r.fail("bad signed LEB128")
	return 0
}
