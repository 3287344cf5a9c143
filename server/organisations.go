package server

import (
	"github.com/gin-gonic/gin"

	"github.com/gatehouse-authz/gatehouse"
)

func notYet(Deps) gin.HandlerFunc {
	return func(c *gin.Context) { _ = c.Error(gatehouse.Errorf(gatehouse.EINTERNAL, "not implemented")) }
}

var (
	handleCreateOrganisation = notYet
	handleGetOrganisation    = notYet
	handleDeleteOrganisation = notYet
	handleTransferOwnership  = notYet
	handleListMembers        = notYet
	handleGrantRole          = notYet
	handleRevokeRole         = notYet
	handleRemoveMember       = notYet
	handleSetDesignation     = notYet
	handleUnsetDesignation   = notYet
	handleCreateContractor   = notYet
	handlePatchContractor    = notYet
	handleDeleteContractor   = notYet
	handleCreateInvoice      = notYet
)
