import Synchronization

/// How a handler hands usage to its recorder at the end of a call.
public enum HandlerDelivery: Sendable, Hashable {
    /// Wait until the usage is in Redis or in the spool (bounded by the recorder's `recordTimeout`).
    case awaitDurable
    /// Return as soon as the usage is queued (``UsageRecorder/recordInBackground(user:callID:usage:model:provider:cycle:at:)``);
    /// a full queue makes the caller wait for room.
    case fireAndForget
}
