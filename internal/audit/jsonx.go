package audit

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// JSONx is IBM's XML rendering of JSON, which Vault's format=jsonx writes:
// every value becomes a json:object, json:array, json:string, json:number,
// json:boolean or json:null element, named by a name attribute inside an
// object.
const (
	jsonxHeader = `<?xml version="1.0" encoding="UTF-8"?>`
	jsonxNS     = `http://www.ibm.com/xmlns/prod/2009/jsonx`
)

// writeJSONx renders the JSON document js as JSONx, keeping key order.
func writeJSONx(buf *bytes.Buffer, js []byte) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	buf.WriteString(jsonxHeader)
	if err := jsonxValue(buf, dec, "", true); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

func jsonxValue(buf *bytes.Buffer, dec *json.Decoder, name string, root bool) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("read JSON token: %w", err)
	}
	open := func(kind string) {
		buf.WriteString("<json:")
		buf.WriteString(kind)
		if name != "" {
			buf.WriteString(` name="`)
			xml.EscapeText(buf, []byte(name))
			buf.WriteByte('"')
		}
		if root {
			buf.WriteString(` xmlns:json="` + jsonxNS + `"`)
		}
		buf.WriteByte('>')
	}
	closeTag := func(kind string) {
		buf.WriteString("</json:" + kind + ">")
	}
	leaf := func(kind, text string) {
		open(kind)
		xml.EscapeText(buf, []byte(text))
		closeTag(kind)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			open("object")
			for dec.More() {
				keyTok, err := dec.Token()
				if err != nil {
					return fmt.Errorf("read JSON key: %w", err)
				}
				key, _ := keyTok.(string)
				if err := jsonxValue(buf, dec, key, false); err != nil {
					return err
				}
			}
			closeTag("object")
		case '[':
			open("array")
			for dec.More() {
				if err := jsonxValue(buf, dec, "", false); err != nil {
					return err
				}
			}
			closeTag("array")
		default:
			return fmt.Errorf("unexpected JSON delimiter %q", t)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return fmt.Errorf("read JSON delimiter: %w", err)
		}
	case string:
		leaf("string", t)
	case json.Number:
		leaf("number", t.String())
	case bool:
		if t {
			leaf("boolean", "true")
		} else {
			leaf("boolean", "false")
		}
	case nil:
		open("null")
		closeTag("null")
	default:
		return fmt.Errorf("unexpected JSON token %T", t)
	}
	return nil
}
