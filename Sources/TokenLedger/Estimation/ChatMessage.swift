@_exported import struct BytePairEncoding.ChatMessage

// `ChatMessage` (role, content, optional name) is defined once, in BytePairEncoding, so exact counting
// and TokenLedger's estimators take the same type; it is re-exported here for TokenLedger's users.
