"""Lesson 06, exercise 1 (reference answer): the parameter count of an MBConv block, by formula."""


def mbconv_parameters(c_in, c_out, expand_ratio=4, se_ratio=0.25):
    hidden = expand_ratio * c_out
    squeeze = max(1, round(se_ratio * c_out))
    count = 2 * c_in                              # pre-norm BatchNorm: γ, β per input channel
    count += c_in * hidden                        # expand 1×1, no bias (a BatchNorm follows)
    count += 2 * hidden                           # its BatchNorm
    count += 9 * hidden                           # depthwise 3×3, no bias
    count += 2 * hidden                           # its BatchNorm
    count += hidden * squeeze + squeeze           # SE reduce 1×1 (with bias)
    count += squeeze * hidden + hidden            # SE expand 1×1 (with bias)
    count += hidden * c_out + c_out               # project 1×1 (with bias)
    if c_in != c_out:
        count += c_in * c_out + c_out             # shortcut Proj (the max pool has none)
    return count
