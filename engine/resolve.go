package engine

// Identity resolution runs in Go over the identifiers of one input (a
// union-find whose components may never hold two different user_ids), with
// every identifier replaced by an integer key id that DuckDB assigns (see
// resolve_keys.go): no strings and no maps of strings, so a million-row
// input resolves in slices. The store applies the outcome with set-based SQL.

// idKey is one normalised identifier.
type idKey struct {
	kind  int // index into IdentityKinds()
	value string
}

// idRecord is the identifiers of one input row, indexed like IdentityKinds();
// "" where absent.
type idRecord struct {
	ids  [numKinds]string
	line int // input line, for the merge log
}

// keyRecord is one input row's identifiers as key ids, indexed like
// IdentityKinds(); 0 where absent.
type keyRecord [numKinds]int32

// holder is the existing profile that holds an identifier (profileID 0:
// nobody). uid names that profile's user_id: 0 when it has none, else an
// id equal for equal user_ids (the key id when the input has it too).
type holder struct {
	profileID int64
	uid       int64
}

type mergeEvent struct {
	a, b     int32 // the two components' nodes
	merged   int64 // for a merge: the existing profile that merged away
	kind     int
	key      int32
	row      int
	conflict bool
}

// resolution is the outcome of resolving one input's rows.
type resolution struct {
	// recordProfile is the profile of each row.
	recordProfile []int64
	// refused[i] has bit k set when row i's identifier of kind k was not
	// linked to its profile: that would give the profile two user_ids.
	refused []uint8
	// newProfiles are ids allocated for people not seen before.
	newProfiles []int64
	// newKeys counts the identifiers nobody held before this input; each
	// is linked to the profile of the row it first appears on.
	newKeys int
	// newIdentities lists them, filled only for an untrusted write (the
	// trust check reads them; see newIdentitiesOf).
	newIdentities []resolvedIdentity
	// merges maps each existing profile that merged away to its survivor.
	merges map[int64]int64
	// log holds merges and refused links in the order they happened.
	log []keyLog
}

func (r *resolution) isRefused(row, kind int) bool { return r.refused[row]&(1<<kind) != 0 }

type resolvedIdentity struct {
	kind, value string
	line        int
	profileID   int64
}

type keyLog struct {
	action    string // merge | conflict
	profileID int64  // survivor, or the profile that kept the identifier
	otherID   int64  // merged away, or the profile refused the link
	kind      int
	key       int32 // the identifier's key id
	row       int
}

type resolver struct {
	parent    []int32
	uid       []int64
	minExist  []int64 // smallest existing profile id in the component, 0 if none
	nodeOfKey []int32 // node holding each key id, -1 if none yet
	nodeOf    map[int64]int32
	held      []holder
}

func (r *resolver) node(uid, existing int64) int32 {
	n := int32(len(r.parent))
	r.parent = append(r.parent, n)
	r.uid = append(r.uid, uid)
	r.minExist = append(r.minExist, existing)
	return n
}

func (r *resolver) find(x int32) int32 {
	for r.parent[x] != x {
		r.parent[x] = r.parent[r.parent[x]]
		x = r.parent[x]
	}
	return x
}

func (r *resolver) union(a, b int32) int32 {
	a, b = r.find(a), r.find(b)
	if a == b {
		return a
	}
	// Keep the root whose existing profile is older, so survivors are stable.
	if r.minExist[b] != 0 && (r.minExist[a] == 0 || r.minExist[b] < r.minExist[a]) {
		a, b = b, a
	}
	r.parent[b] = a
	if r.uid[a] == 0 {
		r.uid[a] = r.uid[b]
	}
	return a
}

// ownerNode returns the node holding a key, creating the node of an
// existing profile on first sight.
func (r *resolver) ownerNode(key int32) (int32, bool) {
	if n := r.nodeOfKey[key]; n >= 0 {
		return n, true
	}
	h := r.held[key]
	if h.profileID == 0 {
		return 0, false
	}
	n, ok := r.nodeOf[h.profileID]
	if !ok {
		n = r.node(h.uid, h.profileID)
		r.nodeOf[h.profileID] = n
	}
	r.nodeOfKey[key] = n
	return n, true
}

// resolveKeys links rows to profiles. held[key] says who holds each key id
// already (held[0] is unused: key ids start at 1); nextID is the first free
// profile id.
func resolveKeys(records []keyRecord, held []holder, nextID int64) resolution {
	r := &resolver{nodeOfKey: make([]int32, len(held)), nodeOf: map[int64]int32{}, held: held}
	for i := range r.nodeOfKey {
		r.nodeOfKey[i] = -1
	}
	recNode := make([]int32, len(records))
	refused := make([]uint8, len(records))
	var events []mergeEvent
	newKeys := 0
	for i, rec := range records {
		cur := int32(-1)
		for k, key := range rec {
			if key == 0 {
				continue
			}
			o, owned := r.ownerNode(key)
			if !owned {
				if cur == -1 && k == 0 {
					cur = r.node(int64(key), 0) // a user_id seen for the first time
				}
				continue
			}
			o = r.find(o)
			if cur == -1 {
				cur = o
				continue
			}
			cur = r.find(cur)
			if o == cur {
				continue
			}
			if r.uid[cur] != 0 && r.uid[o] != 0 && r.uid[cur] != r.uid[o] {
				refused[i] |= 1 << k
				events = append(events, mergeEvent{a: o, b: cur, kind: k, key: key, row: i, conflict: true})
				continue
			}
			if ea, eb := r.minExist[o], r.minExist[cur]; ea != 0 && eb != 0 {
				events = append(events, mergeEvent{a: o, b: cur, merged: max(ea, eb), kind: k, key: key, row: i})
			}
			cur = r.union(cur, o)
		}
		if cur == -1 {
			cur = r.node(0, 0)
		}
		// A key nobody holds yet is linked here, on its first row: a
		// refusal needs a holder, so the first row never refuses it.
		for k, key := range rec {
			if key == 0 || refused[i]&(1<<k) != 0 || r.nodeOfKey[key] >= 0 || held[key].profileID != 0 {
				continue
			}
			r.nodeOfKey[key] = cur
			newKeys++
		}
		recNode[i] = cur
	}

	// Give every component its profile id: its oldest existing profile, or a
	// new id in order of first appearance.
	res := resolution{recordProfile: make([]int64, len(records)), refused: refused, newKeys: newKeys, merges: map[int64]int64{}}
	idOf := make([]int64, len(r.parent)) // profile of each root, 0 until given
	profileOf := func(n int32) int64 {
		root := r.find(n)
		if id := idOf[root]; id != 0 {
			return id
		}
		id := r.minExist[root]
		if id == 0 {
			id = nextID
			nextID++
			res.newProfiles = append(res.newProfiles, id)
		}
		idOf[root] = id
		return id
	}
	for i := range records {
		res.recordProfile[i] = profileOf(recNode[i])
	}
	for pid, n := range r.nodeOf {
		if s := profileOf(n); s != pid {
			res.merges[pid] = s
		}
	}
	for _, e := range events {
		l := keyLog{action: "merge", profileID: profileOf(e.a), otherID: e.merged, kind: e.kind, key: e.key, row: e.row}
		if e.conflict {
			l.action, l.otherID = "conflict", profileOf(e.b)
		}
		res.log = append(res.log, l)
	}
	return res
}
