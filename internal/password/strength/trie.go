package strength

import (
	"bytes"
	"maps"
	"slices"
)

// wordTrie holds the built-in dictionaries as a byte trie, so that the
// dictionary matcher extends a substring one character at a time and stops
// as soon as no word starts with it: zxcvbn looks up every substring, and
// the l33t matcher repeats that for each of up to hundreds of ways to read
// the l33t characters, which with map lookups made l33t-heavy passwords
// cost tens of milliseconds.
type wordTrie struct {
	nodes []trieNode // nodes[0] is the root
	// The children of node k are labels[first:first+count] (sorted) leading
	// to targets[first:first+count].
	labels  []byte
	targets []int32
	ranks   []rankSet // indexed by trieNode.rank
}

type trieNode struct {
	first, count int32
	rank         int32 // index into ranks if a word ends here, else -1
}

func newWordTrie(words map[string]rankSet) *wordTrie {
	sorted := slices.Sorted(maps.Keys(words))
	rs := make([]rankSet, len(sorted))
	for k, w := range sorted {
		rs[k] = words[w]
	}
	t := &wordTrie{}
	t.build(sorted, rs, 0)
	return t
}

// build adds the node for the common prefix, of length depth, of words
// (sorted, so a word equal to the prefix comes first) and its subtree.
func (t *wordTrie) build(words []string, rs []rankSet, depth int) int32 {
	idx := int32(len(t.nodes))
	t.nodes = append(t.nodes, trieNode{rank: -1})
	if len(words) > 0 && len(words[0]) == depth {
		t.nodes[idx].rank = int32(len(t.ranks))
		t.ranks = append(t.ranks, rs[0])
		words, rs = words[1:], rs[1:]
	}
	// Group the words by their next byte; reserve the children's slots
	// before building the subtrees so they stay contiguous.
	var groups []int // start of each group in words, plus the end
	for k, w := range words {
		if k == 0 || w[depth] != words[k-1][depth] {
			groups = append(groups, k)
		}
	}
	groups = append(groups, len(words))
	first := int32(len(t.labels))
	count := int32(len(groups) - 1)
	t.nodes[idx].first, t.nodes[idx].count = first, count
	for g := range count {
		t.labels = append(t.labels, words[groups[g]][depth])
		t.targets = append(t.targets, 0)
	}
	for g := range count {
		lo, hi := groups[g], groups[g+1]
		t.targets[first+g] = t.build(words[lo:hi], rs[lo:hi], depth+1)
	}
	return idx
}

// walk follows s from node, returning the node reached or -1.
func (t *wordTrie) walk(node int32, s string) int32 {
	for k := 0; k < len(s) && node >= 0; k++ {
		n := t.nodes[node]
		c := bytes.IndexByte(t.labels[n.first:n.first+n.count], s[k])
		if c < 0 {
			return -1
		}
		node = t.targets[n.first+int32(c)]
	}
	return node
}

// lookup returns word's ranks, or false if it is in no built-in dictionary.
func (t *wordTrie) lookup(word string) (rankSet, bool) {
	node := t.walk(0, word)
	if node < 0 || t.nodes[node].rank < 0 {
		return rankSet{}, false
	}
	return t.ranks[t.nodes[node].rank], true
}
