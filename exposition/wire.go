package exposition

import (
	"fmt"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// familyDescriptor describes the messages of a protobuf exposition.
var familyDescriptor = (&dto.MetricFamily{}).ProtoReflect().Descriptor()

// checkWire walks the fields of message b of type md, and those of the
// messages in it, as Prometheus' decoder (gogo protobuf's) reads them: a
// known field of another wire type than its own is refused (protobuf-go
// skips it as unknown), and a group field is refused under the README's
// stricter rule (gogo skips any, protobuf-go refuses some; no client
// library writes one).
func checkWire(b []byte, md protoreflect.MessageDescriptor) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		fd := md.Fields().ByNumber(num)
		if typ == protowire.StartGroupType && fd == nil {
			return &ParseError{Msg: fmt.Sprintf("group field %d in %s", num, md.Name()), Stricter: StricterProtoGroup}
		}
		if fd != nil {
			want := wireType(fd.Kind())
			packed := fd.IsList() && typ == protowire.BytesType && want != protowire.BytesType
			if typ != want && !packed {
				return fmt.Errorf("wrong wire type %d for field %s.%s", typ, md.Name(), fd.Name())
			}
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return protowire.ParseError(m)
		}
		if fd != nil && fd.Kind() == protoreflect.MessageKind {
			v, _ := protowire.ConsumeBytes(b)
			if err := checkWire(v, fd.Message()); err != nil {
				return err
			}
		}
		b = b[m:]
	}
	return nil
}

// wireType is the wire type of a field of kind k.
func wireType(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return protowire.BytesType
	case protoreflect.GroupKind:
		return protowire.StartGroupType
	}
	return protowire.VarintType
}
