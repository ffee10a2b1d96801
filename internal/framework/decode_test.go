package framework

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestConvert(t *testing.T) {
	tests := map[string]struct {
		typ  FieldType
		in   any
		want any
		bad  bool
	}{
		"string":                     {TypeString, "x", "x", false},
		"string from number":         {TypeString, json.Number("12"), "12", false},
		"string from bool":           {TypeString, true, "true", false},
		"string from query":          {TypeString, []string{"q"}, "q", false},
		"string from object":         {TypeString, map[string]any{}, nil, true},
		"int from json number":       {TypeInt, json.Number("42"), 42, false},
		"int from float":             {TypeInt, 42.0, 42, false},
		"int from string":            {TypeInt, "-7", -7, false},
		"int from fraction":          {TypeInt, json.Number("1.5"), nil, true},
		"int from word":              {TypeInt, "ten", nil, true},
		"int from bool":              {TypeInt, true, nil, true},
		"bool":                       {TypeBool, true, true, false},
		"bool from string":           {TypeBool, "false", false, false},
		"bool from 1":                {TypeBool, "1", true, false},
		"bool from word":             {TypeBool, "yes please", nil, true},
		"duration go syntax":         {TypeDuration, "1h30m", 90 * time.Minute, false},
		"duration seconds string":    {TypeDuration, "90", 90 * time.Second, false},
		"duration seconds number":    {TypeDuration, json.Number("90"), 90 * time.Second, false},
		"duration days":              {TypeDuration, "2d", 48 * time.Hour, false},
		"duration empty":             {TypeDuration, "", time.Duration(0), false},
		"duration bad":               {TypeDuration, "soon", nil, true},
		"string list from array":     {TypeStringSlice, []any{"a", "b"}, []string{"a", "b"}, false},
		"string list from commas":    {TypeStringSlice, "a, b,,c", []string{"a", "b", "c"}, false},
		"string list of numbers":     {TypeStringSlice, []any{json.Number("1"), json.Number("2")}, []string{"1", "2"}, false},
		"string list from object":    {TypeStringSlice, map[string]any{}, nil, true},
		"string list bad element":    {TypeStringSlice, []any{map[string]any{}}, nil, true},
		"kv pairs from object":       {TypeKVPairs, map[string]any{"a": "1", "b": json.Number("2")}, map[string]string{"a": "1", "b": "2"}, false},
		"kv pairs from list":         {TypeKVPairs, []any{"a=1", "b=x=y"}, map[string]string{"a": "1", "b": "x=y"}, false},
		"kv pairs nested":            {TypeKVPairs, map[string]any{"a": map[string]any{}}, nil, true},
		"kv pairs no equals":         {TypeKVPairs, []any{"a"}, nil, true},
		"map from object":            {TypeMap, map[string]any{"a": true}, map[string]any{"a": true}, false},
		"map from json string":       {TypeMap, `{"a":1}`, map[string]any{"a": json.Number("1")}, false},
		"map from array":             {TypeMap, []any{}, nil, true},
		"map from non-object string": {TypeMap, `[1]`, nil, true},
		"int list from array":        {TypeIntSlice, []any{json.Number("1"), "2"}, []int{1, 2}, false},
		"int list from commas":       {TypeIntSlice, "3,4", []int{3, 4}, false},
		"int list from one number":   {TypeIntSlice, json.Number("5"), []int{5}, false},
		"int list bad element":       {TypeIntSlice, []any{"x"}, nil, true},
		"objects from array":         {TypeObjectSlice, []any{map[string]any{"a": "1"}}, []Object{ObjectOf(map[string]any{"a": "1"})}, false},
		"objects from json string":   {TypeObjectSlice, `[{"a":"1"}]`, []Object{ObjectOf(map[string]any{"a": "1"})}, false},
		"objects from raw items":     {TypeObjectSlice, []json.RawMessage{json.RawMessage(` {"a":"1"}`)}, []Object{RawObject(json.RawMessage(` {"a":"1"}`))}, false},
		"objects raw non-object":     {TypeObjectSlice, []json.RawMessage{json.RawMessage(`"x"`)}, nil, true},
		"objects bad element":        {TypeObjectSlice, []any{"x"}, nil, true},
		"objects from object":        {TypeObjectSlice, map[string]any{}, nil, true},
	}
	for name, tc := range tests {
		got, err := convert(tc.typ, tc.in)
		if tc.bad {
			if !errors.Is(err, errType) {
				t.Errorf("%s: err = %v, want a type error", name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", name, got, tc.want)
		}
	}
}

type allTypes struct {
	Name     string            `field:"name"`
	Count    int               `field:"count"`
	Big      int64             `field:"big"`
	On       bool              `field:"on"`
	TTL      time.Duration     `field:"ttl"`
	List     []string          `field:"list"`
	Pairs    map[string]string `field:"pairs"`
	Obj      map[string]any    `field:"obj"`
	CAS      *int              `field:"cas"`
	Untagged string
}

var allFields = map[string]*Field{
	"name": {Type: TypeString, Required: true},
	"count": {Type: TypeInt, Default: 3, Validate: func(v any) error {
		if v.(int) < 0 {
			return errors.New("must not be negative")
		}
		return nil
	}},
	"big":   {Type: TypeInt},
	"on":    {Type: TypeBool},
	"ttl":   {Type: TypeDuration, Default: "1m"},
	"list":  {Type: TypeStringSlice},
	"pairs": {Type: TypeKVPairs},
	"obj":   {Type: TypeMap},
	"cas":   {Type: TypeInt},
}

func TestDecode(t *testing.T) {
	tests := map[string]struct {
		data    map[string]any
		want    allTypes
		unknown []string
		errText string // substring of the 400's message
	}{
		"every type": {
			data: map[string]any{
				"name": "web", "count": json.Number("5"), "big": "9", "on": "true", "ttl": json.Number("30"),
				"list": "a,b", "pairs": map[string]any{"k": "v"}, "obj": map[string]any{"x": nil}, "cas": json.Number("0"),
			},
			want: allTypes{Name: "web", Count: 5, Big: 9, On: true, TTL: 30 * time.Second, List: []string{"a", "b"},
				Pairs: map[string]string{"k": "v"}, Obj: map[string]any{"x": nil}, CAS: new(int)},
		},
		"defaults and absent pointer": {
			data: map[string]any{"name": "web"},
			want: allTypes{Name: "web", Count: 3, TTL: time.Minute},
		},
		"null takes the default": {
			data: map[string]any{"name": "web", "count": nil},
			want: allTypes{Name: "web", Count: 3, TTL: time.Minute},
		},
		"unknown fields reported sorted": {
			data:    map[string]any{"name": "web", "zeta": 1, "alpha": 2},
			want:    allTypes{Name: "web", Count: 3, TTL: time.Minute},
			unknown: []string{"alpha", "zeta"},
		},
		"missing required":    {data: map[string]any{}, errText: `missing required field "name"`},
		"wrong type names it": {data: map[string]any{"name": "web", "count": "many"}, errText: `invalid value for field "count": expected an integer`},
		"validation fails":    {data: map[string]any{"name": "web", "count": -1}, errText: `invalid value for field "count": must not be negative`},
		"bad duration":        {data: map[string]any{"name": "web", "ttl": "later"}, errText: `invalid value for field "ttl"`},
	}
	for name, tc := range tests {
		var got allTypes
		unknown, err := Decode(allFields, tc.data, &got)
		if tc.errText != "" {
			e, ok := logical.AsError(err)
			if !ok || e.Kind != logical.KindInvalidRequest || !strings.Contains(e.Error(), tc.errText) {
				t.Errorf("%s: err = %v, want a 400 containing %q", name, err, tc.errText)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, tc.want)
		}
		if !reflect.DeepEqual(unknown, tc.unknown) {
			t.Errorf("%s: unknown = %v, want %v", name, unknown, tc.unknown)
		}
	}
}

func TestDecodeMisfit(t *testing.T) {
	tests := map[string]any{
		"not a pointer":         allTypes{},
		"pointer to non-struct": new(int),
		"wrong go type": &struct {
			Count string `field:"count"`
		}{},
		"int into duration": &struct {
			Count time.Duration `field:"count"`
		}{},
	}
	for name, dst := range tests {
		_, err := Decode(allFields, map[string]any{"name": "x"}, dst)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if _, ok := logical.AsError(err); ok {
			t.Errorf("%s: got a client error %v, want an internal one", name, err)
		}
	}
}
