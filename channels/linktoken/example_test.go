package linktoken_test

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/tactcdp/tact/channels/linktoken"
)

func ExampleSigner_Verify() {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	signer, _ := linktoken.New(linktoken.Config{
		Keys: [][]byte{bytes.Repeat([]byte("k"), 32)},
		Now:  func() time.Time { return now },
	})
	links := linktoken.Links{BaseURL: "https://prefs.example.com", Signer: signer}
	_, token, _ := links.Unsubscribe(1234, "marketing", "email")

	c, err := signer.Verify(token)
	fmt.Println(c.ProfileID, c.Purpose, c.Channel, c.ExpiresAt.Format(time.DateOnly), err)

	_, err = signer.Verify(token[:len(token)-1] + "A")
	fmt.Println(errors.Is(err, linktoken.ErrInvalidSignature))
	// Output:
	// 1234 marketing email 2025-04-01 <nil>
	// true
}
