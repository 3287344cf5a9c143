package workflow_test

import (
	"fmt"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/seed"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// BenchmarkOneWrite measures what one write per transition costs (issue
// 23 item 3): a filing its filer authorises as filed (tom, the technical
// contact, files an access change in his area: file, authorise, settle)
// and an authorisation that completes a request (tom authorises pat's
// service request: authorise, settle), each with the writes apart (no
// engine) and staged in a scratch SpiceDB then made as one (WithScratch),
// side by side: on the demo data's globex, and on globex with 2,000 more
// contractors (which a stage does not load) or 2,000 more members (which
// it does, with the organisation's own relationships).
//
//	go test -p 1 -run '^$' -bench OneWrite -benchtime 50x ./workflow/
func BenchmarkOneWrite(b *testing.B) {
	for _, world := range []struct {
		name string
		more func(i int) gatehouse.Relationship
	}{
		{"demo", nil},
		{"2000_contractors", func(i int) gatehouse.Relationship {
			return gatehouse.Relationship{Resource: gatehouse.ContractorRef(fmt.Sprintf("bench-%d", i)), Relation: gatehouse.RelOrganisation, Subject: gatehouse.Subject{Object: gatehouse.OrganisationRef("globex")}}
		}},
		{"2000_members", func(i int) gatehouse.Relationship {
			return gatehouse.Relationship{Resource: gatehouse.OrganisationRef("globex"), Relation: gatehouse.RoleCISProcessor, Subject: gatehouse.User(fmt.Sprintf("bench-%d", i))}
		}},
	} {
		store, _ := mustStore(b)
		if err := seed.Load(b.Context(), store); err != nil {
			b.Fatal(err)
		}
		if world.more != nil {
			for from := 0; from < 2000; from += 500 {
				var ups []gatehouse.Update
				for i := from; i < from+500; i++ {
					ups = append(ups, gatehouse.Update{Op: gatehouse.Touch, Relationship: world.more(i)})
				}
				if _, err := store.Write(b.Context(), gatehouse.Write{Updates: ups}); err != nil {
					b.Fatal(err)
				}
			}
		}
		tom, pat := gatehouse.User("tom"), gatehouse.User("pat")
		n := 0
		for _, mode := range []struct {
			name string
			svc  *workflow.Service
		}{{"apart", workflow.New(store)}, {"one_write", workflow.New(store, workflow.WithScratch(scratch))}} {
			b.Run(world.name+"/file_authorised_as_filed/"+mode.name, func(b *testing.B) {
				for b.Loop() {
					n++
					st, err := mode.svc.FileChangeRequest(b.Context(), tom, workflow.NewChangeRequest{ID: fmt.Sprintf("bench-%d", n), Organisation: "globex", Kind: gatehouse.KindAccessPermissions})
					if err != nil || st.Status != workflow.StatusAuthorised {
						b.Fatalf("%v %+v", err, st)
					}
				}
			})
			b.Run(world.name+"/authorise_completing/"+mode.name, func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					n++
					id := fmt.Sprintf("bench-%d", n)
					if _, err := mode.svc.FileChangeRequest(b.Context(), pat, workflow.NewChangeRequest{ID: id, Organisation: "globex", Kind: gatehouse.KindService}); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					st, err := mode.svc.AuthoriseChangeRequest(b.Context(), tom, id, "")
					if err != nil || st.Status != workflow.StatusAuthorised {
						b.Fatalf("%v %+v", err, st)
					}
				}
			})
		}
	}
}
