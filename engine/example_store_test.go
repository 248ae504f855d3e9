package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tactcdp/tact/engine"
)

// ExampleStore_Import opens a store and imports a profile file: rows that
// share an identifier are one person, every other column is a typed trait.
func ExampleStore_Import() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "tact-example-")
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "crm.csv")
	_ = os.WriteFile(file, []byte("user_id,email,plan,age\nu1,Ann@Example.com,pro,34\nu2,bob@example.com,free,\n,ann@example.com,,35\n"), 0o600)

	st, err := engine.Open(ctx, engine.MemoryPath, engine.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	res, err := st.Import(ctx, engine.ImportProfiles, file)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("rows %d, profiles created %d\n", res.Rows, res.ProfilesCreated)
	id, _ := st.ResolveUser(ctx, "ann@example.com")
	p, _ := st.Profile(ctx, id)
	fmt.Println(p.UserID, p.Email, p.Traits["plan"], p.Traits["age"])
	// Output:
	// rows 3, profiles created 2
	// u1 ann@example.com pro 35
}
