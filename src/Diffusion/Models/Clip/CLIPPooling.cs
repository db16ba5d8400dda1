using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Clip;

internal static class CLIPPooling
{
    /// <summary>
    /// pooler_output as transformers 4.38 picks the row: with the legacy <c>eos_token_id == 2</c> (SD1.x and SDXL
    /// configs) the position of the largest id (eos is the largest id in CLIP's vocabulary), otherwise the first eos
    /// position. Both are argmax, which returns the first maximum.
    /// </summary>
    public static Tensor Pool(CLIPTextConfig config, Tensor lastHiddenState, Tensor inputIds)
    {
        var batch = inputIds.size(0);
        var length = inputIds.size(1);
        using var cpuIds = inputIds.to(ScalarType.Int64, Device.Cpu);
        var ids = cpuIds.ToArray<long>();
        var rows = new long[batch];
        for (var b = 0; b < batch; b++)
        {
            var row = ids.AsSpan((int)(b * length), (int)length);
            var best = 0;
            for (var i = 1; i < row.Length; i++)
            {
                var better = config.EosTokenId == 2
                    ? row[i] > row[best]
                    : row[i] == config.EosTokenId && row[best] != config.EosTokenId;
                if (better) best = i;
            }
            rows[b] = b * length + best;
        }
        using var index = torch.tensor(rows, batch).to(lastHiddenState.device);
        return lastHiddenState.reshape(batch * length, -1).index_select(0, index);
    }
}
