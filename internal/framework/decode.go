package framework

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

// Decode checks data against fields and stores the converted values in the
// struct dst points to, matching struct fields by their `field:"name"` tag.
// A field absent from data takes its Default; without one, a pointer struct
// field stays nil and any other keeps its zero value. Every Required field
// must be present.
//
// Decode serves nested objects (such as KV's "options") and tests; handlers
// normally call Request.Decode, whose input the backend has already checked.
// It returns the sorted names in data that fields does not declare. A value
// of the wrong type is a *logical.Error (400) naming the field; a dst that
// does not fit fields is a programming error, returned as a plain error.
func Decode(fields map[string]*Field, data map[string]any, dst any) (unknown []string, err error) {
	values, unknown, err := parseFields(fields, data, nil, true)
	if err != nil {
		return unknown, err
	}
	return unknown, assign(values, dst)
}

// parseFields converts the declared fields of data (plus the path's
// captures, which are strings) into their Go values.
func parseFields(fields map[string]*Field, data map[string]any, params map[string]string, checkRequired bool) (map[string]any, []string, error) {
	var unknown []string
	for k := range data {
		if _, ok := fields[k]; !ok {
			if _, ok := params[k]; !ok {
				unknown = append(unknown, k)
			}
		}
	}
	slices.Sort(unknown)
	if len(fields) == 0 && len(params) == 0 {
		return nil, unknown, nil
	}
	values := make(map[string]any, len(fields)+len(params))
	for name, f := range fields {
		raw, ok := data[name]
		if !ok || raw == nil {
			if checkRequired && f.Required {
				return nil, unknown, logical.InvalidRequest("missing required field %q", name)
			}
			if f.Default == nil {
				continue
			}
			raw = f.Default
		}
		v, err := convert(f.Type, raw)
		if err != nil {
			if errors.Is(err, errType) {
				return nil, unknown, logical.InvalidRequest("invalid value for field %q: %s", name, typeHint(err))
			}
			return nil, unknown, fmt.Errorf("field %q: %w", name, err)
		}
		if f.Validate != nil {
			if err := f.Validate(v); err != nil {
				return nil, unknown, logical.InvalidRequest("invalid value for field %q: %v", name, err)
			}
		}
		values[name] = v
	}
	for name, v := range params {
		values[name] = v
	}
	return values, unknown, nil
}

// typeHint is the client-facing part of a conversion error: what was
// expected, without the wrapped sentinel's text.
func typeHint(err error) string {
	s := err.Error()
	if suffix := ": " + errType.Error(); len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)]
	}
	return s
}

var durationType = reflect.TypeFor[time.Duration]()

// assign copies values into the tagged fields of the struct dst points to.
func assign(values map[string]any, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("framework: decode into %T: need a pointer to a struct", dst)
	}
	sv := rv.Elem()
	st := sv.Type()
	for i := range st.NumField() {
		sf := st.Field(i)
		name, ok := sf.Tag.Lookup("field")
		if !ok || name == "-" {
			continue
		}
		v, ok := values[name]
		if !ok {
			continue
		}
		fv := sv.Field(i)
		if fv.Kind() == reflect.Pointer {
			p := reflect.New(fv.Type().Elem())
			if err := set(p.Elem(), v); err != nil {
				return fmt.Errorf("framework: field %q into %s.%s: %w", name, st.Name(), sf.Name, err)
			}
			fv.Set(p)
			continue
		}
		if err := set(fv, v); err != nil {
			return fmt.Errorf("framework: field %q into %s.%s: %w", name, st.Name(), sf.Name, err)
		}
	}
	return nil
}

// set stores v in dst when their types agree; integers convert between
// sizes, but never into or out of time.Duration.
func set(dst reflect.Value, v any) error {
	vv := reflect.ValueOf(v)
	switch {
	case vv.Type() == dst.Type():
		dst.Set(vv)
	case vv.Type().AssignableTo(dst.Type()):
		dst.Set(vv)
	case isInt(vv.Type()) && isInt(dst.Type()):
		dst.SetInt(vv.Int())
	default:
		return fmt.Errorf("cannot store %s in %s", vv.Type(), dst.Type())
	}
	return nil
}

func isInt(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return t != durationType
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
