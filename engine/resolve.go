package engine

// Identity resolution runs in Go over the identifiers of one import (a
// union-find whose components may never hold two different user_ids); the
// store applies the outcome with set-based SQL.

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

// owner is the profile that already holds an identifier.
type owner struct {
	profileID int64
	userID    string // that profile's user_id, "" if none
}

type mergeEvent struct {
	a, b     int   // the two components' nodes
	merged   int64 // for a merge: the existing profile that merged away
	kind     int
	value    string
	line     int
	conflict bool
}

type resolution struct {
	// profile of each record.
	recordProfile []int64
	// refused[i][k]: record i's identifier of kind k was not linked to its
	// profile because that would give the profile two user_ids.
	refused [][numKinds]bool
	// newProfiles are ids allocated for people not seen before.
	newProfiles []int64
	// newIdentities are identifiers not held by anyone before this input.
	newIdentities []resolvedIdentity
	// merges maps each existing profile that merged away to its survivor.
	merges map[int64]int64
	// log holds merges and refused links in the order they happened.
	log []resolvedLog
}

type resolvedIdentity struct {
	kind, value string
	line        int
	profileID   int64
}

type resolvedLog struct {
	action      string // merge | conflict
	profileID   int64  // survivor, or the profile that kept the identifier
	otherID     int64  // merged away, or the profile refused the link
	kind, value string
	line        int
}

type resolver struct {
	parent   []int
	uid      []string
	minExist []int64 // smallest existing profile id in the component, 0 if none
	owners   map[idKey]int
	nodeOf   map[int64]int // existing profile id → node
	existing map[idKey]owner
}

func (r *resolver) node(uid string, existing int64) int {
	r.parent = append(r.parent, len(r.parent))
	r.uid = append(r.uid, uid)
	r.minExist = append(r.minExist, existing)
	return len(r.parent) - 1
}

func (r *resolver) find(x int) int {
	for r.parent[x] != x {
		r.parent[x] = r.parent[r.parent[x]]
		x = r.parent[x]
	}
	return x
}

func (r *resolver) union(a, b int) int {
	a, b = r.find(a), r.find(b)
	if a == b {
		return a
	}
	// Keep the root whose existing profile is older, so survivors are stable.
	if r.minExist[b] != 0 && (r.minExist[a] == 0 || r.minExist[b] < r.minExist[a]) {
		a, b = b, a
	}
	r.parent[b] = a
	if r.uid[a] == "" {
		r.uid[a] = r.uid[b]
	}
	return a
}

// ownerNode returns the node holding an identifier, creating the node of an
// existing profile on first sight.
func (r *resolver) ownerNode(k idKey) (int, bool) {
	if n, ok := r.owners[k]; ok {
		return n, true
	}
	o, ok := r.existing[k]
	if !ok {
		return 0, false
	}
	n, ok := r.nodeOf[o.profileID]
	if !ok {
		n = r.node(o.userID, o.profileID)
		r.nodeOf[o.profileID] = n
	}
	r.owners[k] = n
	return n, true
}

// resolve links records to profiles. existing says who holds identifiers
// already; nextID is the first free profile id.
func resolve(records []idRecord, existing map[idKey]owner, nextID int64) resolution {
	r := &resolver{owners: map[idKey]int{}, nodeOf: map[int64]int{}, existing: existing}
	kinds := IdentityKinds()
	recNode := make([]int, len(records))
	refused := make([][numKinds]bool, len(records))
	var events []mergeEvent
	type attach struct {
		key  idKey
		node int
		line int
	}
	var attaches []attach

	for i, rec := range records {
		cur := -1
		for k := range kinds {
			v := rec.ids[k]
			if v == "" {
				continue
			}
			key := idKey{k, v}
			o, owned := r.ownerNode(key)
			if !owned {
				if cur == -1 && k == 0 {
					cur = r.node(v, 0) // a user_id seen for the first time
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
			if r.uid[cur] != "" && r.uid[o] != "" && r.uid[cur] != r.uid[o] {
				refused[i][k] = true
				events = append(events, mergeEvent{a: o, b: cur, kind: k, value: v, line: rec.line, conflict: true})
				continue
			}
			if ea, eb := r.minExist[o], r.minExist[cur]; ea != 0 && eb != 0 {
				events = append(events, mergeEvent{a: o, b: cur, merged: max(ea, eb), kind: k, value: v, line: rec.line})
			}
			cur = r.union(cur, o)
		}
		if cur == -1 {
			cur = r.node("", 0)
		}
		for k := range kinds {
			v := rec.ids[k]
			if v == "" || refused[i][k] {
				continue
			}
			key := idKey{k, v}
			if _, owned := r.owners[key]; owned {
				continue
			}
			if _, ok := r.existing[key]; ok {
				continue
			}
			r.owners[key] = cur
			attaches = append(attaches, attach{key, cur, rec.line})
		}
		recNode[i] = cur
	}

	// Give every component its profile id: its oldest existing profile, or a
	// new id in order of first appearance.
	res := resolution{recordProfile: make([]int64, len(records)), refused: refused, merges: map[int64]int64{}}
	idOf := map[int]int64{}
	profileOf := func(n int) int64 {
		root := r.find(n)
		if id, ok := idOf[root]; ok {
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
	for _, a := range attaches {
		res.newIdentities = append(res.newIdentities, resolvedIdentity{kind: kinds[a.key.kind], value: a.key.value, line: a.line, profileID: profileOf(a.node)})
	}
	for _, e := range events {
		if e.conflict {
			res.log = append(res.log, resolvedLog{action: "conflict", profileID: profileOf(e.a), otherID: profileOf(e.b), kind: kinds[e.kind], value: e.value, line: e.line})
			continue
		}
		res.log = append(res.log, resolvedLog{action: "merge", profileID: profileOf(e.a), otherID: e.merged, kind: kinds[e.kind], value: e.value, line: e.line})
	}
	return res
}
