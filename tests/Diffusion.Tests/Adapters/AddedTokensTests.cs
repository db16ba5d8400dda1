using Farm.Diffusion.Adapters;
using Farm.Diffusion.Tokenization;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Adapters;

/// <summary>The tokenizer's added tokens (transformers' add_tokens) and diffusers' prompt rewrite.</summary>
public sealed class AddedTokensTests
{
    private static ClipTokenizer Base() => ClipTokenizer.FromDirectory(Path.Combine(Fixtures.ModelDir, "tokenizer"));

    [SkippableFact]
    public void Added_tokens_are_matched_as_whole_strings_before_bpe_even_inside_words_and_take_ids_after_the_vocabulary()
    {
        var tokenizer = Base().WithAddedTokens(["<emb3>", "<emb3>_1", "<emb3>_2"]);
        var plain = Base();
        // The pieces around an added token are tokenized as if the token were a separator.
        Assert.Equal(
            plain.EncodeWithoutPadding("x").Append(49409).Concat(plain.EncodeWithoutPadding("y")),
            tokenizer.EncodeWithoutPadding("x<emb3>_1y"));
        // At one position the longest added token wins, as transformers' trie.
        Assert.Equal([49408, 49409, 49410], tokenizer.EncodeWithoutPadding("<emb3> <emb3>_1 <emb3>_2"));
        Assert.Equal("<emb3>_2", tokenizer.TokenText(49410));
        // Case-sensitive, as the slow CLIP tokenizer matches added tokens on the raw text.
        Assert.DoesNotContain(49408, tokenizer.EncodeWithoutPadding("<EMB3>"));
        Assert.Empty(plain.AddedTokens);
        Assert.Equal(plain.Encode("a <emb3> castle"), Base().Encode("a <emb3> castle"));
    }

    [SkippableFact]
    public void The_prompt_rewrite_expands_each_multi_vector_token_everywhere_and_leaves_others_alone()
    {
        var tokenizer = Base().WithAddedTokens(["<a>", "<a>_1", "<a>_2", "<b>"]);
        Assert.Equal("<a> <a>_1 <a>_2 and <b>, again <a> <a>_1 <a>_2", PromptConversion.Convert("<a> and <b>, again <a>", tokenizer));
        Assert.Equal("no tokens here", PromptConversion.Convert("no tokens here", tokenizer));
    }

    [SkippableFact]
    public void A_token_of_the_vocabulary_or_a_repeated_token_cannot_be_added()
    {
        Assert.Throws<ArgumentException>(() => Base().WithAddedTokens(["<|endoftext|>"]));
        Assert.Throws<ArgumentException>(() => Base().WithAddedTokens(["<x>", "<x>"]));
    }
}
