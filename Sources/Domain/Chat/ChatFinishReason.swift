/// A provider's finish reason in the names of OpenAI's `chat.completion` (`stop`, `length`,
/// `content_filter`, `tool_calls`, `function_call`), which OpenAI's clients branch on.
public enum ChatFinishReason {
    /// OpenAI's own names pass through; Anthropic's `end_turn`, `stop_sequence` and `pause_turn`
    /// are a natural stop, `max_tokens` and `model_context_window_exceeded` a cut, `tool_use` a
    /// tool call; a refusal (Anthropic's `refusal`, OpenAI's `refusal` member) is
    /// `content_filter`. None, or an unknown one: `stop`.
    public static func openAI(_ providerReason: String?) -> String {
        switch providerReason {
        case "length", "max_tokens", "model_context_window_exceeded": "length"
        case "content_filter", "refusal": "content_filter"
        case "tool_calls", "tool_use": "tool_calls"
        case "function_call": "function_call"
        default: "stop"
        }
    }
}
