// The benchmark suite: real 1×1 conv layers (all with bias, float32) from ResNet-50, MobileNetV2, batched, overhead-bound, strided, grouped and NHWC cases.
// flops = 2 · N · Cout · (Cin / groups) · OH · OW.
function shape(group, label, { n = 1, cin, cout, h, w, stride = 1, groups = 1, layout = 'nchw' }) {
  const oh = Math.floor((h - 1) / stride) + 1;
  const ow = Math.floor((w - 1) / stride) + 1;
  const id = `${group}-${n}x${cin}x${h}x${w}-${cout}-s${stride}-g${groups}-${layout}`.replace(/[^\w.-]/g, '');
  return { id, group, label, n, cin, cout, h, w, oh, ow, stride, groups, layout, flops: 2 * n * cout * (cin / groups) * oh * ow };
}

export const SHAPES = [
  shape('ResNet-50', 'ResNet 56² 64→256', { cin: 64, cout: 256, h: 56, w: 56 }),
  shape('ResNet-50', 'ResNet 56² 256→64', { cin: 256, cout: 64, h: 56, w: 56 }),
  shape('ResNet-50', 'ResNet 28² 512→128', { cin: 512, cout: 128, h: 28, w: 28 }),
  shape('ResNet-50', 'ResNet 14² 1024→256', { cin: 1024, cout: 256, h: 14, w: 14 }),
  shape('ResNet-50', 'ResNet 7² 2048→512', { cin: 2048, cout: 512, h: 7, w: 7 }),
  shape('ResNet-50', 'ResNet 7² 512→2048', { cin: 512, cout: 2048, h: 7, w: 7 }),
  shape('MobileNetV2', 'MNv2 112² 16→96', { cin: 16, cout: 96, h: 112, w: 112 }),
  shape('MobileNetV2', 'MNv2 56² 24→144', { cin: 24, cout: 144, h: 56, w: 56 }),
  shape('MobileNetV2', 'MNv2 28² 192→32', { cin: 192, cout: 32, h: 28, w: 28 }),
  shape('MobileNetV2', 'MNv2 14² 576→96', { cin: 576, cout: 96, h: 14, w: 14 }),
  shape('MobileNetV2', 'MNv2 7² 320→1280', { cin: 320, cout: 1280, h: 7, w: 7 }),
  shape('batched', 'N=16 14² 256→1024', { n: 16, cin: 256, cout: 1024, h: 14, w: 14 }),
  shape('batched', 'N=32 7² 512→2048', { n: 32, cin: 512, cout: 2048, h: 7, w: 7 }),
  shape('batched', 'N=8 56² 64→256', { n: 8, cin: 64, cout: 256, h: 56, w: 56 }),
  shape('overhead', '8² 16→16', { cin: 16, cout: 16, h: 8, w: 8 }),
  shape('overhead', 'Linear 512→512', { cin: 512, cout: 512, h: 1, w: 1 }),
  shape('stride/groups', 'ResNet down 56² 256→512 s2', { cin: 256, cout: 512, h: 56, w: 56, stride: 2 }),
  shape('stride/groups', 'ShuffleNet 28² 240→240 g3', { cin: 240, cout: 240, h: 28, w: 28, groups: 3 }),
  shape('NHWC', 'NHWC 56² 64→256', { cin: 64, cout: 256, h: 56, w: 56, layout: 'nhwc' }),
  shape('NHWC', 'NHWC N=32 7² 512→2048', { n: 32, cin: 512, cout: 2048, h: 7, w: 7, layout: 'nhwc' }),
];

/** The --quick subset: one or two per group, under two minutes in all. */
export const QUICK_IDS = new Set(
  ['ResNet 56² 64→256', 'ResNet 7² 2048→512', 'MNv2 112² 16→96', 'N=8 56² 64→256', '8² 16→16', 'Linear 512→512',
    'ResNet down 56² 256→512 s2', 'ShuffleNet 28² 240→240 g3', 'NHWC 56² 64→256'].map((label) => SHAPES.find((s) => s.label === label).id),
);
