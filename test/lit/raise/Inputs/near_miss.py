"""Writes a near miss of a Mamba2 graph exported by torch.onnx.export (node names such as
'/layers.1/norm/ReduceMean'): each edit breaks one block the way another exporter or a modified
model might, so that the raising must say where and why it did not raise.

Usage: near_miss.py IN.onnx OUT.onnx EDIT...
  norm-axis      layer 1's RMS norm takes its mean over the length (axis 1), not the channels
  in-proj-input  layer 0's in_proj weight becomes a graph input 'w_in' (not a constant)
  conv-dilation  layer 1's conv is dilated (2): not the causal conv once sliced
"""
import sys

import onnx


def main():
    src, dst, *edits = sys.argv[1:]
    m = onnx.load(src)
    nodes = {n.name: n for n in m.graph.node}

    def attr(node, name):
        return next(a for a in nodes[node].attribute if a.name == name)

    for e in edits:
        if e == "norm-axis":
            attr("/layers.1/norm/ReduceMean", "axes").ints[:] = [1]
        elif e == "in-proj-input":
            n = nodes["/layers.0/mixer/in_proj/MatMul"]
            w = next(i for i in m.graph.initializer if i.name == n.input[1])
            m.graph.input.append(
                onnx.helper.make_tensor_value_info("w_in", onnx.TensorProto.FLOAT, list(w.dims)))
            n.input[1] = "w_in"
        elif e == "conv-dilation":
            attr("/layers.1/mixer/conv1d/Conv", "dilations").ints[:] = [2]
        else:
            sys.exit("near_miss.py: unknown edit " + e)
    onnx.save(m, dst)


if __name__ == "__main__":
    main()
