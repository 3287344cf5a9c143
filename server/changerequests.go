package server

var (
	handleFileChangeRequest      = notYet
	handleGetChangeRequest       = notYet
	handleAuthoriseChangeRequest = notYet
	handleGrantException         = notYet
	handleRevokeException        = notYet
)
