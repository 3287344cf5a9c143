package spicedb

import (
	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gatehouse-authz/gatehouse"
)

func objRef(o gatehouse.Object) *v1.ObjectReference {
	return &v1.ObjectReference{ObjectType: o.Type, ObjectId: o.ID}
}

func subjRef(s gatehouse.Subject) *v1.SubjectReference {
	return &v1.SubjectReference{Object: objRef(s.Object), OptionalRelation: s.Relation}
}

func fromObj(o *v1.ObjectReference) gatehouse.Object {
	return gatehouse.Object{Type: o.GetObjectType(), ID: o.GetObjectId()}
}

func fromSubj(s *v1.SubjectReference) gatehouse.Subject {
	return gatehouse.Subject{Object: fromObj(s.GetObject()), Relation: s.GetOptionalRelation()}
}

func toRel(r gatehouse.Relationship) *v1.Relationship {
	rel := &v1.Relationship{Resource: objRef(r.Resource), Relation: r.Relation, Subject: subjRef(r.Subject)}
	if r.ExpiresAt != nil {
		rel.OptionalExpiresAt = timestamppb.New(*r.ExpiresAt)
	}
	return rel
}

func fromRel(r *v1.Relationship) gatehouse.Relationship {
	rel := gatehouse.Relationship{Resource: fromObj(r.GetResource()), Relation: r.GetRelation(), Subject: fromSubj(r.GetSubject())}
	if r.GetOptionalExpiresAt() != nil {
		t := r.GetOptionalExpiresAt().AsTime()
		rel.ExpiresAt = &t
	}
	return rel
}

func toFilter(f gatehouse.Filter) *v1.RelationshipFilter {
	rf := &v1.RelationshipFilter{
		ResourceType:             f.ResourceType,
		OptionalResourceId:       f.ResourceID,
		OptionalResourceIdPrefix: f.IDPrefix,
		OptionalRelation:         f.Relation,
	}
	if f.SubjectType != "" {
		rf.OptionalSubjectFilter = &v1.SubjectFilter{SubjectType: f.SubjectType, OptionalSubjectId: f.SubjectID}
		if f.SubjectRelation != "" {
			rf.OptionalSubjectFilter.OptionalRelation = &v1.SubjectFilter_RelationFilter{Relation: f.SubjectRelation}
		}
	}
	return rf
}

func toStruct(field string, m map[string]any) (*structpb.Struct, error) {
	if len(m) == 0 {
		return nil, nil
	}
	st, err := structpb.NewStruct(m)
	if err != nil {
		return nil, gatehouse.Invalid(field, "context is not representable: %v", err)
	}
	return st, nil
}

func token(t *v1.ZedToken) string { return t.GetToken() }
