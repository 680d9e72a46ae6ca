package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/featureflag"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestFeatureFlagLifecycle(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, project, user := newOwner(t, s, "flags@example.com")
		_, other, _ := newOwner(t, s, "other@example.com")
		r := 30.0
		f := &gatehouse.FeatureFlag{ProjectID: project.ID, Key: "beta", Name: "Beta", Active: true, CreatedByID: user.ID,
			Filters: featureflag.Filters{Groups: []featureflag.Group{{RolloutPercentage: &r}}, Payloads: map[string]string{"true": `{"a":1}`}}}
		if err := s.CreateFeatureFlag(ctx, f); err != nil {
			t.Fatal(err)
		}
		if f.ID == 0 || f.Version != 1 {
			t.Fatalf("%+v", f)
		}
		got, err := s.FeatureFlagByID(ctx, project.ID, f.ID)
		if err != nil || got.Key != "beta" || got.CreatedByEmail != "flags@example.com" || *got.Filters.Groups[0].RolloutPercentage != 30 || got.Filters.Payloads["true"] != `{"a":1}` {
			t.Fatalf("%+v %v", got, err)
		}
		// Another project cannot read it, and may use the same key.
		if _, err := s.FeatureFlagByID(ctx, other.ID, f.ID); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("cross-project read: %v", err)
		}
		if err := s.CreateFeatureFlag(ctx, &gatehouse.FeatureFlag{ProjectID: other.ID, Key: "beta"}); err != nil {
			t.Fatalf("same key in another project: %v", err)
		}
		// The key is unique among the project's live flags.
		if err := s.CreateFeatureFlag(ctx, &gatehouse.FeatureFlag{ProjectID: project.ID, Key: "beta"}); !errors.Is(err, gatehouse.ErrConflict) {
			t.Fatalf("duplicate key: %v", err)
		}
		// Update bumps the version; a stale version loses.
		got.Name = "Beta 2"
		if err := s.UpdateFeatureFlag(ctx, got); err != nil || got.Version != 2 {
			t.Fatalf("%v %d", err, got.Version)
		}
		stale := *got
		stale.Version = 1
		if err := s.UpdateFeatureFlag(ctx, &stale); !errors.Is(err, gatehouse.ErrVersionConflict) {
			t.Fatalf("stale update: %v", err)
		}
		// Soft delete hides it and frees the key.
		if ok, err := s.DeleteFeatureFlag(ctx, project.ID, f.ID, time.Now()); !ok || err != nil {
			t.Fatalf("%v %v", ok, err)
		}
		if ok, _ := s.DeleteFeatureFlag(ctx, project.ID, f.ID, time.Now()); ok {
			t.Fatal("deleted twice")
		}
		if _, err := s.FeatureFlagByID(ctx, project.ID, f.ID); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("deleted flag still readable: %v", err)
		}
		if err := s.UpdateFeatureFlag(ctx, got); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("update of deleted flag: %v", err)
		}
		if err := s.CreateFeatureFlag(ctx, &gatehouse.FeatureFlag{ProjectID: project.ID, Key: "beta"}); err != nil {
			t.Fatalf("key of a deleted flag: %v", err)
		}
		list, err := s.FeatureFlags(ctx, project.ID)
		if err != nil || len(list) != 1 || list[0].ID == f.ID {
			t.Fatalf("%+v %v", list, err)
		}
	})
}

func TestProjectBySecretTokenHash(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, project, _ := newOwner(t, s, "secret@example.com")
		got, err := s.ProjectBySecretTokenHash(ctx, project.SecretTokenHash)
		if err != nil || got.ID != project.ID {
			t.Fatalf("%v %v", got, err)
		}
		if _, err := s.ProjectBySecretTokenHash(ctx, gatehouse.HashToken("phs_unknown")); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("unknown secret: %v", err)
		}
		if _, err := s.ProjectBySecretTokenHash(ctx, ""); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("empty hash matched: %v", err)
		}
	})
}
