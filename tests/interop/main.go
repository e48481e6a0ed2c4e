package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

type incl struct {
	LeafIndex uint64   `json:"leaf_index"`
	TreeSize  uint64   `json:"tree_size"`
	LeafHash  []byte   `json:"leaf_hash"`
	Root      []byte   `json:"root"`
	Path      [][]byte `json:"path"`
}
type cons struct {
	OldSize uint64   `json:"old_size"`
	NewSize uint64   `json:"new_size"`
	OldRoot []byte   `json:"old_root"`
	NewRoot []byte   `json:"new_root"`
	Path    [][]byte `json:"path"`
}

func must(err error) {
	if err != nil {
		fmt.Println("FAIL:", err)
		os.Exit(1)
	}
}

func main() {
	vkey, _ := os.ReadFile(os.Args[1])
	cp, _ := os.ReadFile(os.Args[2])
	v, err := note.NewVerifier(string(trim(vkey)))
	must(err)
	c, _, _, err := log.ParseCheckpoint(cp, v.Name(), v)
	must(err)
	fmt.Printf("checkpoint OK: origin=%s size=%d\n", c.Origin, c.Size)
	var p incl
	b, _ := os.ReadFile(os.Args[3])
	must(json.Unmarshal(b, &p))
	must(proof.VerifyInclusion(rfc6962.DefaultHasher, p.LeafIndex, p.TreeSize, p.LeafHash, p.Path, c.Hash))
	fmt.Println("inclusion OK against the checkpoint root")
	var q cons
	b, _ = os.ReadFile(os.Args[4])
	must(json.Unmarshal(b, &q))
	must(proof.VerifyConsistency(rfc6962.DefaultHasher, q.OldSize, q.NewSize, q.Path, q.OldRoot, c.Hash))
	fmt.Println("consistency OK to the checkpoint root")
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
