package postgres

import "strings"

// row is where Vault's layout puts a key: "a/b/c" becomes parent "/a/",
// path "/a/b/", name "c"; a top-level "k" becomes "", "/", "k".
type row struct {
	parent, path, name string
}

// splitKey places key in Vault's layout.
func splitKey(key string) row {
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return row{parent: "", path: "/", name: key}
	}
	path := "/" + key[:i+1]
	return row{parent: parentOf(path), path: path, name: key[i+1:]}
}

// parentOf returns the folder holding folder path ("/a/b/" → "/a/",
// "/a/" → "/").
func parentOf(path string) string {
	i := strings.LastIndexByte(path[:len(path)-1], '/')
	return path[:i+1]
}

// likePrefix returns a LIKE pattern matching every string that starts
// with s, escaping LIKE's metacharacters (backslash is the default escape).
func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}
