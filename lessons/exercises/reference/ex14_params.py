"""Lesson 14, exercise 1 (reference answer): CoAtNet's parameter count from its configuration."""


def mbconv_parameters(c_in, c_out, expand_ratio=4, se_ratio=0.25):
    hidden, squeeze = expand_ratio * c_out, max(1, round(se_ratio * c_out))
    count = 2 * c_in + c_in * hidden + 2 * hidden + 9 * hidden + 2 * hidden
    count += 2 * hidden * squeeze + squeeze + hidden + hidden * c_out + c_out
    return count + (c_in * c_out + c_out if c_in != c_out else 0)


def transformer_parameters(c_in, c_out, height, width, head_dim=32, mlp_ratio=4):
    heads = max(1, c_out // head_dim)
    count = 2 * c_in                                        # LayerNorm before attention
    count += 3 * (c_in * c_out + c_out)                     # q, k, v
    count += c_out * c_out + c_out                          # output projection
    count += heads * (2 * height - 1) * (2 * width - 1)     # relative-position tables
    count += 2 * c_out                                      # LayerNorm before the MLP
    count += 2 * mlp_ratio * c_out * c_out + mlp_ratio * c_out + c_out   # the MLP
    return count + (c_in * c_out + c_out if c_in != c_out else 0)       # shortcut Proj


def coatnet_parameters(config):
    d0 = config.dims[0]
    count = config.in_chans * d0 * 9 + 2 * d0 + d0 * d0 * 9 + d0      # the stem
    height, width = (side // config.strides[0] for side in config.image_size)
    for s in range(1, 5):
        height, width = height // config.strides[s], width // config.strides[s]
        for b in range(config.depths[s]):
            c_in = config.dims[s - 1] if b == 0 else config.dims[s]
            if config.layout[s - 1] == "C":
                count += mbconv_parameters(c_in, config.dims[s], config.expand_ratio, config.se_ratio)
            else:
                count += transformer_parameters(c_in, config.dims[s], height, width, config.head_dim,
                                                config.mlp_ratio)
    d4 = config.dims[4]
    return count + 2 * d4 + d4 * config.num_classes + config.num_classes   # LayerNorm and head
