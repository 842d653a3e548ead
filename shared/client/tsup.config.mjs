import { sdkPackageConfig } from '../../scripts/tsup-package.mjs';

// Neutral: the same build serves bundlers for the browser and Node (socket.io-client picks its own build).
export default sdkPackageConfig({ platform: 'neutral', target: 'es2020' });
