namespace Farm.Cli.Parsing;

/// <summary>
/// `farm completion bash|zsh`: a shell function that asks the CLI itself for the words that fit
/// (<c>farm __complete POSITION LINE</c>, answered by System.CommandLine's <c>GetCompletions</c>), so it never drifts.
/// </summary>
internal static class Completion
{
    public const string Hidden = "__complete";

    public static string Script(string shell) => shell switch
    {
        "bash" => """
            # farm completion for bash: source <(./farm completion bash)
            _farm_complete() {
              local line=${COMP_LINE#"${COMP_WORDS[0]}"} cur=${COMP_WORDS[COMP_CWORD]}
              local position=$((COMP_POINT - ${#COMP_WORDS[0]}))
              local IFS=$'\n'
              COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" __complete "$position" "$line" 2>/dev/null)" -- "$cur"))
            }
            complete -o default -F _farm_complete farm ./farm
            """,
        "zsh" => """
            # farm completion for zsh: source <(./farm completion zsh)
            _farm_complete() {
              local line=${BUFFER#"${words[1]}"}
              local position=$((CURSOR - ${#words[1]}))
              local -a candidates
              candidates=(${(f)"$("${words[1]}" __complete "$position" "$line" 2>/dev/null)"})
              compadd -a candidates
            }
            compdef _farm_complete farm ./farm
            """,
        _ => throw new UsageException($"unknown shell '{shell}': use bash or zsh"),
    };
}
